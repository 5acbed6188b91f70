// A room's IQs: discovery (§6.4), self-ping (XEP-0410), the muc#admin lists and changes of
// roles and affiliations (§8, §9), and the owner's configuration and destruction (§10).
#include <algorithm>
#include <utility>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "archive_policy.hpp"

#include "nickname.hpp"
#include "room.hpp"

namespace muc {
namespace {

using xmppd::Element;
using xmppd::Jid;
namespace stanza = xmppd::stanza;

constexpr const char* kClient = xmppd::ns::kClient;
constexpr const char* kPing = "urn:xmpp:ping";
constexpr const char* kRoomInfoFormType = "http://jabber.org/protocol/muc#roominfo";
constexpr const char* kRegister = "jabber:iq:register";
constexpr const char* kRegisterFormType = "http://jabber.org/protocol/muc#register";
constexpr const char* kRoomNick = "muc#register_roomnick";

}  // namespace

void Room::on_iq(Element iq, const Jid& from, const std::string& nick) {
  if (!nick.empty()) return occupant_iq(std::move(iq), from, nick);
  std::string_view type = iq.attr_or("type");
  if (type != "get" && type != "set") return;  // no IQs of the room's own are pending
  const Element* payload = iq.first_child();
  if (!payload) return env_.send(stanza::error(iq, "bad-request"));
  bool owner = affiliation_of(from) == Affiliation::owner;
  if (locked_ && !owner) return env_.send(stanza::error(iq, "item-not-found"));
  const std::string& ns = payload->ns();
  if (type == "get" && payload->is("query", kDiscoInfo)) {
    if (payload->attr_or("node") != "x-roomuser-item") return disco_info(iq);
    // §7.12: the nick the asker registered, as the identity's name.
    Element result = stanza::iq_result(iq);
    Element& query = result.add_child("query", kDiscoInfo);
    query.set_attr("node", "x-roomuser-item");
    if (auto nick = registered_nicks_.find(from.bare_str()); nick != registered_nicks_.end())
      query.add_child("identity", kDiscoInfo)
          .set_attr("category", "conference")
          .set_attr("name", nick->second)
          .set_attr("type", "text");
    return env_.send(std::move(result));
  }
  if (payload->is("query", kRegister)) return registration(iq, from);
  if (type == "get" && payload->is("query", kDiscoItems)) {
    Element result = stanza::iq_result(iq);
    result.add_child("query", kDiscoItems);  // occupants are not listed: their nicks are theirs
    return env_.send(std::move(result));
  }
  if (type == "get" && payload->is("ping", kPing)) return env_.send(stanza::iq_result(iq));
  if (payload->name() == "query" && ns == kMucAdmin) return type == "get" ? admin_get(iq, from) : admin_set(iq, from);
  if (payload->name() == "query" && ns == kMucOwner) return type == "get" ? owner_get(iq, from) : owner_set(iq, from);
  if (ns == archive::kMam && archived()) return mam_iq(std::move(iq), from);
  if (type == "set" && payload->is("moderate", archive::kModerate) && archived()) return moderate(iq, from);
  env_.send(stanza::error(iq, "service-unavailable"));
}

// XEP-0313 at the room's JID: anyone may read an open room's archive, only members a
// members-only room's.
void Room::mam_iq(Element iq, const Jid& from) {
  if (affiliation_of(from) == Affiliation::outcast ||
      (config_.members_only && affiliation_of(from) < Affiliation::member))
    return env_.send(stanza::error(iq, "forbidden"));
  env_.query_archive(*this, std::move(iq));
}

// XEP-0425: a moderator retracts anyone's message; everyone is told, the archive keeps a
// tombstone.
void Room::moderate(const Element& iq, const Jid& from) {
  Occupant* moderator = find(from);
  if (!moderator || moderator->role != Role::moderator) return env_.send(stanza::error(iq, "forbidden"));
  const Element& request = *iq.first_child();
  std::string id(request.attr_or("id"));
  if (id.empty() || !request.child("retract", archive::kRetract))
    return env_.send(stanza::error(iq, "bad-request", "<moderate/> needs an id and a <retract/>"));
  Element detail("detail", archive::kRetract);
  detail.add_child("moderated", archive::kModerate).set_attr("by", occupant_jid(moderator->nick).str());
  std::string reason = request.child_text("reason", archive::kModerate);
  if (!reason.empty()) detail.add_child("reason", archive::kModerate).add_text(reason);
  auto done = [iq, id, detail](Room& room, archive::RetractOutcome outcome) {
    if (outcome == archive::RetractOutcome::not_found)
      return room.env_.send(stanza::error(iq, "item-not-found", "no such message in the room's archive"));
    room.history_.remove_if([&](const Element& m) {
      const Element* sid = archive::stanza_id(m, room.jid_.str());
      return sid && sid->attr_or("id") == id;
    });
    Element notice("message", kClient);
    notice.set_attr("from", room.jid_.str());
    notice.set_attr("type", "groupchat");
    notice.set_attr("id", "moderate-" + id);
    Element& retract = notice.add_child("retract", archive::kRetract);
    retract.set_attr("id", id);
    for (const Element& n : detail.nodes()) retract.add_child(n);
    if (room.archived())
      archive::add_stanza_id(notice, room.jid_.str(), room.env_.archive(room, notice, "", room.jid_.str()));
    room.broadcast_message(notice);
    room.env_.send(stanza::iq_result(iq));
  };
  env_.retract(*this, id, "", std::move(detail), std::move(done));
}

// IQs between occupants travel through the room, which puts occupant JIDs on both sides
// (XEP-0045 §7.5 for IQs); a ping to one's own occupant JID is answered by the room: the
// client learns it is still joined (XEP-0410), or not (not-acceptable).
void Room::occupant_iq(Element iq, const Jid& from, const std::string& nick) {
  std::string_view type = iq.attr_or("type");
  Occupant* sender = find(from);
  const Occupant* target = named(nick);
  if (type != "get" && type != "set") {  // an answer to a request forwarded earlier
    if (sender && target) {
      iq.set_attr("from", occupant_jid(sender->nick).str());
      iq.set_attr("to", target->real().str());
      env_.send(std::move(iq));
    }
    return;
  }
  const Element* payload = iq.first_child();
  if (!sender) return env_.send(stanza::error(iq, "not-acceptable"));
  if (!payload) return env_.send(stanza::error(iq, "bad-request"));
  if (target == sender && type == "get" && payload->is("ping", kPing)) return env_.send(stanza::iq_result(iq));
  if (!target) return env_.send(stanza::error(iq, "item-not-found"));
  // An IQ is for one client: the session that speaks for the occupant.
  iq.set_attr("from", occupant_jid(sender->nick).str());
  iq.set_attr("to", target->real().str());
  env_.send(std::move(iq));
}

// §6.4 with the XEP-0128 room information form.
void Room::disco_info(const Element& iq) {
  Element result = stanza::iq_result(iq);
  Element& query = result.add_child("query", kDiscoInfo);
  Element& identity = query.add_child("identity", kDiscoInfo);
  identity.set_attr("category", "conference");
  identity.set_attr("type", "text");
  identity.set_attr("name", config_.name.empty() ? jid_.node() : config_.name);
  auto feature = [&query](std::string var) { query.add_child("feature", kDiscoInfo).set_attr("var", std::move(var)); };
  feature(kMuc);
  feature(kDiscoInfo);
  feature("urn:xmpp:ping");
  feature(config_.persistent ? "muc_persistent" : "muc_temporary");
  feature(config_.public_room ? "muc_public" : "muc_hidden");
  feature(config_.members_only ? "muc_membersonly" : "muc_open");
  feature(config_.moderated ? "muc_moderated" : "muc_unmoderated");
  feature(config_.non_anonymous ? "muc_nonanonymous" : "muc_semianonymous");
  feature(config_.password_protected ? "muc_passwordprotected" : "muc_unsecured");
  if (archived())
    for (const char* f : {archive::kMam, archive::kMamExtended, archive::kStanzaIds, archive::kRetract, archive::kModerate})
      feature(f);
  Element& form = query.add_child("x", kDataForms);
  form.set_attr("type", "result");
  auto field = [&form](std::string var, std::string value, std::string label) {
    Element& f = form.add_child("field", kDataForms);
    f.set_attr("var", std::move(var));
    if (!label.empty()) f.set_attr("label", std::move(label));
    f.add_child("value", kDataForms).add_text(std::move(value));
  };
  form.add_child("field", kDataForms).set_attr("var", "FORM_TYPE");
  form.nodes().back().set_attr("type", "hidden");
  form.nodes().back().add_child("value", kDataForms).add_text(kRoomInfoFormType);
  field("muc#roominfo_description", config_.description, "Description");
  field("muc#roominfo_occupants", std::to_string(occupants_.size()), "Number of occupants");
  field("muc#roominfo_subject", subject_, "Subject");
  field("muc#roomconfig_roomname", config_.name, "Name");
  env_.send(std::move(result));
}

// §9.5, §9.8, §9.11, §10.5, §8.5: lists of one affiliation or role.
void Room::admin_get(const Element& iq, const Jid& from) {
  const Element* item = iq.first_child()->child("item", kMucAdmin);
  if (!item) return env_.send(stanza::error(iq, "bad-request"));
  Element result = stanza::iq_result(iq);
  Element& query = result.add_child("query", kMucAdmin);
  if (const std::string* role_attr = item->attr("role")) {
    auto role = role_named(*role_attr);
    if (!role) return env_.send(stanza::error(iq, "bad-request"));
    Occupant* asker = find(from);
    if (!asker || asker->role != Role::moderator) return env_.send(stanza::error(iq, "forbidden"));
    for (const auto& [key, o] : occupants_) {
      if (o.role != *role) continue;
      Element& i = query.add_child("item", kMucAdmin);
      i.set_attr("affiliation", std::string(name_of(affiliation_of(o.real()))));
      i.set_attr("jid", o.real().str());
      i.set_attr("nick", o.nick);
      i.set_attr("role", std::string(name_of(o.role)));
    }
    return env_.send(std::move(result));
  }
  auto affiliation = affiliation_named(item->attr_or("affiliation"));
  if (!affiliation || *affiliation == Affiliation::none) return env_.send(stanza::error(iq, "bad-request"));
  // Admins and owners read every list; the member list also occupants of the roles the
  // configuration names (§9.5).
  const Occupant* asker = find(from);
  bool may_read_members = *affiliation == Affiliation::member && asker &&
                          config_.member_list_roles.contains(std::string(name_of(asker->role)));
  if (affiliation_of(from) < Affiliation::admin && !may_read_members) return env_.send(stanza::error(iq, "forbidden"));
  for (const auto& [jid, a] : affiliations_) {
    if (a != *affiliation) continue;
    Element& i = query.add_child("item", kMucAdmin);
    i.set_attr("affiliation", std::string(name_of(a)));
    i.set_attr("jid", jid);
    if (auto reason = affiliation_reasons_.find(jid); reason != affiliation_reasons_.end())
      i.add_child("reason", kMucAdmin).add_text(reason->second);
  }
  env_.send(std::move(result));
}

// §8.2-§8.6 (roles) and §9.1-§9.7, §10.3-§10.7 (affiliations). Every item is checked
// before any is applied, so a refused request changes nothing.
void Room::admin_set(const Element& iq, const Jid& from) {
  struct Change {
    std::string nick;          // a role change
    std::string bare;          // an affiliation change
    std::optional<Role> role;
    std::optional<Affiliation> affiliation;
    std::string reason;
  };
  Occupant* actor = find(from);
  const std::string actor_nick = actor ? actor->nick : std::string();  // kicks may remove the actor
  Affiliation actor_affiliation = affiliation_of(from);
  std::vector<Change> changes;
  std::map<std::string, Affiliation> after = affiliations_;
  for (const Element& item : iq.first_child()->nodes()) {
    if (!item.is("item", kMucAdmin)) continue;
    Change c;
    c.reason = item.child_text("reason", kMucAdmin);
    const std::string* role_attr = item.attr("role");
    const std::string* affiliation_attr = item.attr("affiliation");
    if (!role_attr == !affiliation_attr) return env_.send(stanza::error(iq, "bad-request"));
    if (role_attr) {
      c.role = role_named(*role_attr);
      c.nick = item.attr_or("nick");
      const Occupant* target = named(c.nick);
      if (!c.role || c.nick.empty()) return env_.send(stanza::error(iq, "bad-request"));
      if (!target) return env_.send(stanza::error(iq, "item-not-found"));
      if (!actor || actor->role != Role::moderator) return env_.send(stanza::error(iq, "forbidden"));
      Affiliation target_affiliation = affiliation_of(target->real());
      // Granting or revoking moderator takes an admin (§9.6/9.7); nobody may change the role
      // of someone with a higher affiliation, nor an admin's or owner's role (§8.2, §8.4).
      if ((*c.role == Role::moderator || target->role == Role::moderator) &&
          actor_affiliation < Affiliation::admin)
        return env_.send(stanza::error(iq, "not-allowed"));
      if (target_affiliation >= Affiliation::admin && *c.role != Role::moderator)
        return env_.send(stanza::error(iq, "not-allowed"));
    } else {
      c.affiliation = affiliation_named(*affiliation_attr);
      std::optional<Jid> jid;
      if (const std::string* j = item.attr("jid")) jid = Jid::parse(*j);
      else if (const Occupant* target = named(item.attr_or("nick"))) jid = target->real();
      if (!c.affiliation || !jid) return env_.send(stanza::error(iq, "bad-request"));
      c.bare = jid->bare_str();
      Affiliation current = affiliation_of(*jid);
      // Admins manage members and outcasts below them; owners manage everything (§9, §10).
      bool owner_level = *c.affiliation >= Affiliation::admin || current >= Affiliation::admin;
      if (actor_affiliation < (owner_level ? Affiliation::owner : Affiliation::admin))
        return env_.send(stanza::error(iq, actor_affiliation >= Affiliation::admin ? "not-allowed" : "forbidden"));
      if (*c.affiliation == Affiliation::none) after.erase(c.bare);
      else after[c.bare] = *c.affiliation;
    }
    changes.push_back(std::move(c));
  }
  if (changes.empty()) return env_.send(stanza::error(iq, "bad-request"));
  // §10.6: a room always keeps an owner.
  if (std::none_of(after.begin(), after.end(), [](const auto& a) { return a.second == Affiliation::owner; }))
    return env_.send(stanza::error(iq, "conflict"));

  bool affiliations_changed = false;
  for (const Change& c : changes) {
    if (c.role) {
      if (Occupant* target = named(c.nick)) set_role(*target, *c.role, actor_nick, c.reason);
    } else {
      set_affiliation(c.bare, *c.affiliation, actor_nick, c.reason);
      affiliations_changed = true;
    }
  }
  if (affiliations_changed && stored()) return env_.persist(*this, stanza::iq_result(iq));
  env_.send(stanza::iq_result(iq));
}

void Room::set_role(Occupant& o, Role role, const std::string& actor, const std::string& reason) {
  if (role == Role::none) {  // a kick (§8.2)
    Notice notice;
    notice.codes.push_back(307);
    notice.actor = actor;
    notice.reason = reason;
    return remove(o.nick, notice);
  }
  if (o.role == role) return;
  o.role = role;
  Notice notice;
  notice.reason = reason;
  broadcast_presence(o, notice);
}

void Room::set_affiliation(const std::string& bare, Affiliation affiliation, const std::string& actor,
                           const std::string& reason) {
  if (affiliation == Affiliation::none) affiliations_.erase(bare);
  else affiliations_[bare] = affiliation;
  if (affiliation < Affiliation::member) registered_nicks_.erase(bare);  // a registration is membership
  if (affiliation == Affiliation::none || reason.empty()) affiliation_reasons_.erase(bare);
  else affiliation_reasons_[bare] = reason;  // returned in the lists (§9.2, §9.5)
  std::vector<std::string> nicks;
  for (const auto& [key, o] : occupants_)
    if (o.real().bare_str() == bare) nicks.push_back(o.nick);
  if (nicks.empty()) announce_affiliation(bare, affiliation, reason);
  for (const std::string& nick : nicks) {
    Occupant& o = *named(nick);
    Notice notice;
    notice.actor = actor;
    notice.reason = reason;
    if (affiliation == Affiliation::outcast) {  // a ban (§9.1)
      notice.codes.push_back(301);
      remove(nick, notice);
    } else if (affiliation == Affiliation::none && config_.members_only) {  // §9.4
      notice.codes.push_back(321);
      remove(nick, notice);
    } else {
      Role role = default_role(affiliation);
      if (o.role == Role::moderator && role != Role::moderator) o.role = role;
      else if (role > o.role) o.role = role;
      broadcast_presence(o, notice);
    }
  }
}

// §7.10: registering with a room reserves a nick and makes the account a member; the
// answer to a get is the form, or <registered/> with the nick. <remove/> (XEP-0077 §3.2)
// ends both (an admin or owner keeps the affiliation).
void Room::registration(const Element& iq, const Jid& from) {
  std::string bare = from.bare_str();
  Affiliation affiliation = affiliation_of(from);
  if (affiliation == Affiliation::outcast) return env_.send(stanza::error(iq, "forbidden"));
  auto registered = registered_nicks_.find(bare);
  const Element& query = *iq.first_child();
  if (iq.attr_or("type") == "get") {
    Element result = stanza::iq_result(iq);
    Element& answer = result.add_child("query", kRegister);
    if (registered != registered_nicks_.end()) {
      answer.add_child("registered", kRegister);
      answer.add_child("username", kRegister).add_text(registered->second);
      return env_.send(std::move(result));
    }
    answer.add_child("instructions", kRegister).add_text("Choose the nickname you want to keep in this room.");
    Element& form = answer.add_child("x", kDataForms);
    form.set_attr("type", "form");
    form.add_child("title", kDataForms).add_text("Registration with " + jid_.node());
    Element& type = form.add_child("field", kDataForms);
    type.set_attr("var", "FORM_TYPE");
    type.set_attr("type", "hidden");
    type.add_child("value", kDataForms).add_text(kRegisterFormType);
    Element& nick = form.add_child("field", kDataForms);
    nick.set_attr("var", kRoomNick);
    nick.set_attr("type", "text-single");
    nick.set_attr("label", "Nickname");
    nick.add_child("required", kDataForms);
    return env_.send(std::move(result));
  }
  bool changed = false;
  if (query.child("remove", kRegister)) {
    if (registered == registered_nicks_.end()) return env_.send(stanza::error(iq, "item-not-found"));
    registered_nicks_.erase(registered);
    if (affiliation == Affiliation::member) set_affiliation(bare, Affiliation::none, "", "");
    changed = true;
  } else {
    const Element* form = query.child("x", kDataForms);
    if (form && form->attr_or("type") == "cancel") return env_.send(stanza::iq_result(iq));
    std::string nick;
    if (form)
      for (const Element& f : form->nodes())
        if (f.is("field", kDataForms) && f.attr_or("var") == kRoomNick) nick = f.child_text("value", kDataForms);
    auto occupant = Jid::make(jid_.node(), jid_.domain(), nick);
    auto normalized = occupant ? nickname(occupant->resource()) : std::nullopt;
    if (!normalized) return env_.send(stanza::error(iq, "not-acceptable"));
    nick = *normalized;  // as a join would normalize it
    const Occupant* in_use = named(nick);
    if (registered_by_other(nick, from) || (in_use && in_use->real().bare() != from.bare()))
      return env_.send(stanza::error(iq, "conflict"));
    registered_nicks_[bare] = nick;
    if (affiliation < Affiliation::member) set_affiliation(bare, Affiliation::member, "", "");
    changed = true;
  }
  if (changed && stored()) return env_.persist(*this, stanza::iq_result(iq));
  env_.send(stanza::iq_result(iq));
}

// A change for someone who is not in the room: the occupants who may see real JIDs are
// told in a message from the room, and so is the user of a members-only room, whose
// entry it decides (§9.3, §9.4).
void Room::announce_affiliation(const std::string& bare, Affiliation affiliation, const std::string& reason) {
  Element message("message", xmppd::ns::kClient);
  message.set_attr("from", jid_.str());
  Element& item = message.add_child("x", kMucUser).add_child("item", kMucUser);
  item.set_attr("affiliation", std::string(name_of(affiliation)));
  item.set_attr("jid", bare);
  if (!reason.empty()) item.add_child("reason", kMucUser).add_text(reason);
  std::vector<Jid> told;
  for (const auto& [key, o] : occupants_)
    if (sees_real_jids(o))
      for (const Session& session : o.sessions) told.push_back(session.real);
  if (config_.members_only)
    if (auto user = Jid::parse(bare)) told.push_back(*user);
  if (!told.empty()) env_.send_to_many(message, told);
}

// §10.1.2 (the form), §10.2.
void Room::owner_get(const Element& iq, const Jid& from) {
  if (affiliation_of(from) != Affiliation::owner) return env_.send(stanza::error(iq, "forbidden"));
  Element result = stanza::iq_result(iq);
  result.add_child("query", kMucOwner).add_child(config_form(config_, limits_.max_occupants));
  env_.send(std::move(result));
}

void Room::owner_set(const Element& iq, const Jid& from) {
  if (affiliation_of(from) != Affiliation::owner) return env_.send(stanza::error(iq, "forbidden"));
  const Element& query = *iq.first_child();
  if (const Element* request = query.child("destroy", kMucOwner)) return destroy(request, stanza::iq_result(iq));
  const Element* form = query.child("x", kDataForms);
  if (!form) return env_.send(stanza::error(iq, "bad-request"));
  std::string_view type = form->attr_or("type");
  if (type == "cancel") {
    // §10.1.3: cancelling the initial configuration destroys the room.
    if (locked_) return destroy(nullptr, stanza::iq_result(iq));
    return env_.send(stanza::iq_result(iq));
  }
  if (type != "submit") return env_.send(stanza::error(iq, "bad-request"));
  auto config = apply_config_form(*form, config_, limits_.max_occupants);
  if (!config) return env_.send(stanza::error(iq, "not-acceptable"));
  apply_config(std::move(*config), iq);
}

void Room::apply_config(RoomConfig config, const Element& iq) {
  bool was_locked = locked_;
  RoomConfig before = std::exchange(config_, std::move(config));
  locked_ = false;
  // §10.2.1: occupants hear of the change (104; 170/171 when logging, 172/173 when
  // anonymity changed).
  bool logged_before = before.persistent && before.enable_logging;
  if (!was_locked && before != config_) {
    Element m("message", kClient);
    m.set_attr("type", "groupchat");
    m.set_attr("from", jid_.str());
    Element& x = m.add_child("x", kMucUser);
    add_status(x, 104);
    if (logged_before != archived()) add_status(x, archived() ? 170 : 171);
    if (before.non_anonymous != config_.non_anonymous) add_status(x, config_.non_anonymous ? 172 : 173);
    broadcast_message(std::move(m));
  }
  // §9.3 / §10.2: a room turned members-only loses its non-members (322).
  if (config_.members_only && !before.members_only) {
    std::vector<std::string> outsiders;
    for (const auto& [key, o] : occupants_)
      if (affiliation_of(o.real()) < Affiliation::member) outsiders.push_back(o.nick);
    for (const std::string& nick : outsiders) {
      Notice notice;
      notice.codes.push_back(322);
      remove(nick, notice);
    }
  }
  // Whoever may now see real JIDs, or no longer may, gets everyone's presence again.
  if (before.non_anonymous != config_.non_anonymous)
    for (const auto& [key, o] : occupants_)
      for (const auto& [other_key, other] : occupants_)
        if (&other != &o && o.role != Role::moderator) {
          Element p = presence_of(other, {}, config_.non_anonymous, false);
          for (const Session& session : o.sessions) {
            p.set_attr("to", session.real.str());
            env_.send(p);
          }
        }
  env_.persist(*this, stanza::iq_result(iq));
}

// §10.9: every occupant is told, with the alternate venue and reason if any.
void Room::destroy(const Element* request, std::optional<Element> reply) {
  Element destroy_element("destroy", kMucUser);
  if (request) {
    if (const std::string* alternate = request->attr("jid")) destroy_element.set_attr("jid", *alternate);
    if (const Element* reason = request->child("reason", kMucOwner))
      destroy_element.add_child("reason", kMucUser).add_text(reason->text());
    if (const Element* password = request->child("password", kMucOwner))
      destroy_element.add_child("password", kMucUser).add_text(password->text());
  }
  affiliations_.clear();  // everyone leaves as affiliation none (§10.9)
  Notice notice;
  notice.unavailable = true;
  notice.destroy = &destroy_element;
  for (const auto& [key, o] : occupants_)
    for (const Session& session : o.sessions) {
      Element p = presence_of(o, notice, true, true);
      p.set_attr("to", session.real.str());
      env_.send(std::move(p));
    }
  occupants_.clear();
  key_of_.clear();
  everyone_.reset();
  destroyed_ = true;
  env_.persist(*this, std::move(reply));
}

}  // namespace muc

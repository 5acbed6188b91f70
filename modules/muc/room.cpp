// A room's occupants: joining, presence, nicknames and leaving (XEP-0045 §7.1-§7.7), and
// its messages: groupchat with history and subject, private messages, invitations (§7.4-§7.8).
#include "room.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "archive_policy.hpp"
#include "nickname.hpp"

namespace muc {
namespace {

using xmppd::Element;
using xmppd::Jid;
namespace stanza = xmppd::stanza;

constexpr const char* kClient = xmppd::ns::kClient;
constexpr const char* kDelay = "urn:xmpp:delay";

constexpr std::array<std::string_view, 4> kRoleNames{"none", "visitor", "participant", "moderator"};
constexpr std::array<std::string_view, 5> kAffiliationNames{"outcast", "none", "member", "admin", "owner"};

// The user's presence as the room repeats it: addressing and MUC payload removed.
Element plain_presence(const Element& presence) {
  Element p("presence", kClient);
  for (const auto& [name, value] : presence.attrs())
    if (name != "to" && name != "from" && name != "id" && name != "type") p.set_attr(name, value);
  for (const Element& n : presence.nodes())
    if (!n.is_text() && n.ns() != kMuc && n.ns() != kMucUser && n.name() != "error") p.add_child(n);
  return p;
}

// Errors that mean the occupant is unreachable, not that one stanza failed.
bool gone_error(const Element& stanza) {
  static constexpr std::array<std::string_view, 6> kGone{"gone", "item-not-found", "recipient-unavailable",
                                                         "remote-server-not-found", "remote-server-timeout",
                                                         "service-unavailable"};
  const Element* error = stanza.child("error", kClient);
  if (!error) return true;
  for (const Element& n : error->nodes())
    if (n.ns() == xmppd::ns::kStanzaErrors && std::find(kGone.begin(), kGone.end(), n.name()) != kGone.end())
      return true;
  return false;
}

}  // namespace

Element& add_status(Element& x, int code) {
  x.add_child("status", kMucUser).set_attr("code", std::to_string(code));
  return x;
}

std::string_view name_of(Role role) { return kRoleNames[static_cast<int>(role)]; }
std::string_view name_of(Affiliation a) { return kAffiliationNames[static_cast<int>(a)]; }

std::optional<Role> role_named(std::string_view name) {
  for (std::size_t i = 0; i < kRoleNames.size(); ++i)
    if (kRoleNames[i] == name) return static_cast<Role>(i);
  return std::nullopt;
}

std::optional<Affiliation> affiliation_named(std::string_view name) {
  for (std::size_t i = 0; i < kAffiliationNames.size(); ++i)
    if (kAffiliationNames[i] == name) return static_cast<Affiliation>(i);
  return std::nullopt;
}

Room::Room(Jid jid, RoomConfig config, ServiceLimits limits, RoomEnvironment& env)
    : jid_(std::move(jid)), config_(std::move(config)), limits_(limits), env_(env),
      history_(limits.history_max_stanzas) {}

void Room::create(const Jid& creator, bool instant) {
  affiliations_[creator.bare_str()] = Affiliation::owner;
  locked_ = !instant;
}

void Room::restore(const StoredRoom& stored) {
  subject_ = stored.subject;
  subject_by_ = stored.subject_by;
  if (auto payloads = Element::parse(stored.subject_payloads, kClient))
    for (const Element& p : payloads->nodes())
      if (!p.is_text()) subject_payloads_.push_back(p);
  for (const auto& [jid, name] : stored.affiliations)
    if (auto a = affiliation_named(name); a && *a != Affiliation::none) affiliations_[jid] = *a;
  registered_nicks_ = stored.nicks;
  affiliation_reasons_ = stored.reasons;
}

void Room::restore_history(std::vector<History::Entry> entries) {
  for (History::Entry& e : entries) history_.add(std::move(e.message), e.when);
}

StoredRoom Room::snapshot() const {
  StoredRoom s;
  s.service = jid_.domain();
  s.room = jid_.node();
  s.config = config_submission(config_).str(kDataForms);
  s.subject = subject_;
  s.subject_by = subject_by_;
  Element payloads("payloads", kClient);
  for (const Element& p : subject_payloads_) payloads.add_child(p);
  s.subject_payloads = payloads.str(kClient);
  for (const auto& [jid, a] : affiliations_) s.affiliations[jid] = std::string(name_of(a));
  s.nicks = registered_nicks_;
  s.reasons = affiliation_reasons_;
  return s;
}

bool Room::gone() const { return destroyed_ || (occupants_.empty() && (!config_.persistent || locked_)); }

Affiliation Room::affiliation_of(const Jid& jid) const {
  auto it = affiliations_.find(jid.bare_str());
  return it == affiliations_.end() ? Affiliation::none : it->second;
}

Jid Room::occupant_jid(const std::string& nick) const { return jid_.with_resource(nick); }

Room::Occupant* Room::find(const Jid& real) {
  auto it = key_of_.find(real);
  return it == key_of_.end() ? nullptr : &occupants_.at(it->second);
}

Room::Occupant* Room::named(std::string_view nick) {
  auto it = occupants_.find(nickname_key(nick));
  return it == occupants_.end() ? nullptr : &it->second;
}

bool Room::registered_by_other(const std::string& nick, const Jid& user) const {
  std::string bare = user.bare_str();
  std::string key = nickname_key(nick);
  return std::any_of(registered_nicks_.begin(), registered_nicks_.end(), [&](const auto& entry) {
    return entry.first != bare && nickname_key(entry.second) == key;
  });
}

bool Room::sees_real_jids(const Occupant& viewer) const {
  return config_.non_anonymous || viewer.role == Role::moderator;
}

Role Room::default_role(Affiliation a) const {
  switch (a) {
    case Affiliation::owner:
    case Affiliation::admin: return Role::moderator;
    case Affiliation::member: return Role::participant;
    case Affiliation::none: return config_.moderated ? Role::visitor : Role::participant;
    case Affiliation::outcast: return Role::none;
  }
  return Role::none;
}

xmppd::Audience& Room::everyone() {
  if (!everyone_) {
    std::vector<Jid> list;
    list.reserve(occupants_.size());
    for (const auto& [key, o] : occupants_)
      for (const Session& session : o.sessions) list.push_back(session.real);
    everyone_ = env_.audience(std::move(list));
  }
  return *everyone_;
}

// Presence broadcast -------------------------------------------------------------------------

Element Room::presence_of(const Occupant& o, const Notice& notice, bool with_jid, bool self) const {
  Element p = o.presence();
  p.set_attr("from", occupant_jid(o.nick).str());
  if (notice.unavailable) p.set_attr("type", "unavailable");
  Element& x = p.add_child("x", kMucUser);
  Element& item = x.add_child("item", kMucUser);
  item.set_attr("affiliation", std::string(name_of(affiliation_of(o.real()))));
  // Leaving ends the role; a nick change (303) does not, and says which role goes on (§7.6).
  bool left = notice.unavailable && notice.new_nick.empty();
  item.set_attr("role", std::string(left ? "none" : name_of(o.role)));
  if (with_jid) item.set_attr("jid", o.real().str());
  if (!notice.new_nick.empty()) item.set_attr("nick", notice.new_nick);
  if (!notice.actor.empty()) item.add_child("actor", kMucUser).set_attr("nick", notice.actor);
  if (!notice.reason.empty()) item.add_child("reason", kMucUser).add_text(notice.reason);
  if (notice.destroy) x.add_child(*notice.destroy);
  for (int code : notice.codes) add_status(x, code);
  if (self) {
    for (int code : notice.self_codes) add_status(x, code);
    add_status(x, 110);
  }
  return p;
}

void Room::broadcast_presence(const Occupant& o, const Notice& notice) {
  std::vector<Jid> with_jid, without_jid;
  for (const auto& [key, viewer] : occupants_) {
    if (&viewer == &o) continue;
    for (const Session& session : viewer.sessions)
      (sees_real_jids(viewer) ? with_jid : without_jid).push_back(session.real);
  }
  if (!with_jid.empty()) env_.send_to_many(presence_of(o, notice, true, false), with_jid);
  if (!without_jid.empty()) env_.send_to_many(presence_of(o, notice, false, false), without_jid);
  Notice quiet = notice;
  quiet.self_codes.clear();
  for (const Session& session : o.sessions) {
    bool addressed = !notice.session || *notice.session == session.real;
    Element self = presence_of(o, addressed ? notice : quiet, true, true);
    self.set_attr("to", session.real.str());
    env_.send(std::move(self));
  }
}

void Room::broadcast_message(const Element& message) { everyone().send(message); }

Element Room::subject_message() const {
  Element m("message", kClient);
  m.set_attr("type", "groupchat");
  m.set_attr("from", subject_by_.empty() ? jid_.str() : occupant_jid(subject_by_).str());
  m.add_child("subject", kClient).add_text(subject_);  // empty when there is none (§7.2.15)
  for (const Element& p : subject_payloads_) m.add_child(p);
  return m;
}

// Presence ---------------------------------------------------------------------------------

void Room::on_presence(Element presence, const Jid& from, const Jid& to, bool just_created) {
  std::string_view type = presence.attr_or("type");
  if (to.is_bare()) {
    // §7.2.1: entering needs a nickname. Leaving does not: an occupant whose client sends
    // unavailable to the room itself is out, as it meant.
    if (type.empty()) env_.send(stanza::error(presence, "jid-malformed"));
    else if (type == "unavailable" && find(from)) leave(from, presence.child_text("status", kClient));
    return;
  }
  Occupant* o = find(from);
  if (type == "unavailable") {
    if (o) leave(from, presence.child_text("status", kClient));
    return;
  }
  if (type == "error") {  // the occupant may be unreachable
    if (o && gone_error(presence)) leave(from, {}, {333});
    return;
  }
  if (type == "probe") {
    // An occupant asks for another's current presence (after a reconnect, say): answered as
    // the room would broadcast it to them.
    const Occupant* target = named(to.resource());
    if (!o) return env_.send(stanza::error(presence, "not-acceptable"));
    if (!target) return env_.send(stanza::error(presence, "item-not-found"));
    Element current = presence_of(*target, {}, sees_real_jids(*o), target == o);
    current.set_attr("to", from.str());
    return env_.send(std::move(current));
  }
  if (!type.empty()) {
    if (stanza::may_reply_with_error(presence)) env_.send(stanza::error(presence, "bad-request"));
    return;
  }
  auto nick = nickname(to.resource());
  if (!nick) return env_.send(stanza::error(presence, "jid-malformed"));
  Jid occupant = to.with_resource(*nick);  // dropping spaces leaves a prepared resourcepart
  if (!o) return join(std::move(presence), from, occupant, just_created);
  if (o->nick != *nick) return change_nick(*o, presence, from, occupant);
  speaks(*o, from, plain_presence(presence));
  // XEP-0410: a client unsure it is still joined sends a full join again.
  if (const Element* x = presence.child("x", kMuc)) return send_state_to(*o, from, *x, false, false);
  broadcast_presence(*o, {});
}

// The session's presence is the occupant's now (the last one heard speaks for all).
void Room::speaks(Occupant& o, const Jid& real, Element presence) {
  auto it = std::find_if(o.sessions.begin(), o.sessions.end(), [&](const Session& s) { return s.real == real; });
  if (it == o.sessions.end()) return;
  it->presence = std::move(presence);
  std::rotate(it, it + 1, o.sessions.end());
}

void Room::join(Element presence, const Jid& from, const Jid& to, bool just_created) {
  const std::string& nick = to.resource();
  Affiliation affiliation = affiliation_of(from);
  const Element* x = presence.child("x", kMuc);
  auto refuse = [&](std::string_view condition) { env_.send(stanza::error(presence, condition)); };
  // Another session of the account that holds the nick joins that occupant (multi-session
  // nick, as Prosody and ejabberd allow); anyone else's is a conflict.
  Occupant* holder = named(nick);
  bool own = holder && holder->real().bare() == from.bare();
  // §7.2: in the order the XEP lists the checks.
  if (locked_ && affiliation != Affiliation::owner) return refuse("item-not-found");  // §10.1.1
  if (affiliation == Affiliation::outcast) return refuse("forbidden");                 // §7.2.7
  if ((holder && !own) || registered_by_other(nick, from)) return refuse("conflict");  // §7.2.8, §7.10
  if (config_.members_only && affiliation < Affiliation::member) return refuse("registration-required");
  if (config_.password_protected && (!x || x->child_text("password", kMuc) != config_.password))
    return refuse("not-authorized");  // §7.2.6
  if (!own && std::int64_t(occupants_.size()) >= std::min(config_.max_occupants, limits_.max_occupants) &&
      affiliation < Affiliation::admin)
    return refuse("service-unavailable");  // §7.2.10

  // §7.2.3 (210): the nick was normalized on its way in, or is the holder's spelling.
  const std::string& taken = own ? holder->nick : nick;
  bool nick_changed = !presence.attr_or("to").ends_with("/" + taken);
  static const Element kNoJoinPayload("x", kMuc);
  const Element& join_x = x ? *x : kNoJoinPayload;
  if (own) {
    holder->sessions.push_back({from, plain_presence(presence)});
    key_of_[from] = nickname_key(taken);
    everyone_.reset();
    return send_state_to(*holder, from, join_x, false, nick_changed);
  }
  std::string key = nickname_key(nick);
  Occupant& o = occupants_[key];
  o.nick = nick;
  o.role = default_role(affiliation);
  o.sessions.push_back({from, plain_presence(presence)});
  key_of_[from] = key;
  everyone_.reset();
  send_state_to(o, from, join_x, just_created, nick_changed);
}

// §7.2.3-§7.2.16, to one session: the others' presence, one's own (broadcast to all),
// history, subject.
void Room::send_state_to(const Occupant& o, const Jid& session, const Element& join_x, bool just_created,
                         bool nick_changed) {
  bool with_jids = sees_real_jids(o);
  for (const auto& [key, other] : occupants_) {
    if (&other == &o) continue;
    Element p = presence_of(other, {}, with_jids, false);
    p.set_attr("to", session.str());
    env_.send(std::move(p));
  }
  Notice notice;
  notice.session = &session;
  if (config_.non_anonymous) notice.self_codes.push_back(100);
  if (just_created) notice.self_codes.push_back(201);
  if (nick_changed) notice.self_codes.push_back(210);
  broadcast_presence(o, notice);

  Clock::time_point now = Clock::now();
  for (const History::Entry* e : history_.select(HistoryRequest::parse(join_x.child("history", kMuc)), now)) {
    Element m = e->message;
    m.set_attr("to", session.str());
    Element& delay = m.add_child("delay", kDelay);
    delay.set_attr("from", jid_.str());
    delay.set_attr("stamp", stanza::datetime(e->when));
    env_.send(std::move(m));
  }
  Element subject = subject_message();
  subject.set_attr("to", session.str());
  env_.send(std::move(subject));
}

// §7.6. An occupant with one session (or a change of case only) is renamed; a session of
// several moves to the new nick alone, leaving the others where they are.
void Room::change_nick(Occupant& o, const Element& presence, const Jid& from, const Jid& to) {
  const std::string& nick = to.resource();
  Occupant* holder = named(nick);
  bool own = holder && holder->real().bare() == from.bare();
  if ((holder && !own) || registered_by_other(nick, from)) {
    Element error = stanza::error(presence, "conflict");
    error.set_attr("from", std::string(presence.attr_or("to", to.str())));  // the address as sent
    env_.send(std::move(error));
    return;
  }
  Notice gone_notice;
  gone_notice.unavailable = true;
  gone_notice.codes.push_back(303);
  gone_notice.new_nick = holder && holder != &o ? holder->nick : nick;
  if (holder == &o || (!holder && o.sessions.size() == 1)) {
    broadcast_presence(o, gone_notice);
    auto node = occupants_.extract(nickname_key(o.nick));
    node.key() = nickname_key(nick);
    Occupant& renamed = node.mapped();
    renamed.nick = nick;
    for (const Session& session : renamed.sessions) key_of_[session.real] = node.key();
    speaks(renamed, from, plain_presence(presence));
    auto inserted = occupants_.insert(std::move(node));
    everyone_.reset();
    return broadcast_presence(inserted.position->second, {});
  }
  Role role = o.role;
  if (o.sessions.size() == 1) remove(o.nick, gone_notice);
  else detach(o, from, gone_notice);
  if (holder) {
    holder->sessions.push_back({from, plain_presence(presence)});
    key_of_[from] = nickname_key(holder->nick);
    everyone_.reset();
    return broadcast_presence(*holder, {});
  }
  std::string key = nickname_key(nick);
  Occupant& moved = occupants_[key];
  moved.nick = nick;
  moved.role = role;
  moved.sessions.push_back({from, plain_presence(presence)});
  key_of_[from] = key;
  everyone_.reset();
  broadcast_presence(moved, {});
}

void Room::leave(const Jid& real, const std::string& status, std::vector<int> codes) {
  Occupant* o = find(real);
  if (!o) return;
  Notice notice;
  notice.unavailable = true;
  notice.codes = std::move(codes);
  Element gone("presence", kClient);
  if (!status.empty()) gone.add_child("status", kClient).add_text(status);
  if (o->sessions.size() > 1) {
    for (Session& session : o->sessions)
      if (session.real == real) session.presence = std::move(gone);
    return detach(*o, real, notice);
  }
  o->sessions.back().presence = std::move(gone);
  remove(o->nick, notice);
}

void Room::detach(Occupant& o, const Jid& real, Notice notice) {
  auto it = std::find_if(o.sessions.begin(), o.sessions.end(), [&](const Session& s) { return s.real == real; });
  if (it == o.sessions.end()) return;
  bool spoke = std::next(it) == o.sessions.end();
  // The session hears what it would alone; the room sees the occupant stay.
  Occupant alone{o.nick, o.role, {std::move(*it)}};
  o.sessions.erase(it);
  key_of_.erase(real);
  everyone_.reset();
  notice.unavailable = true;
  Element self = presence_of(alone, notice, true, true);
  self.set_attr("to", real.str());
  env_.send(std::move(self));
  if (spoke) broadcast_presence(o, {});  // another session speaks for the occupant now
}

void Room::remove(const std::string& nick, Notice notice) {
  auto it = occupants_.find(nickname_key(nick));
  if (it == occupants_.end()) return;
  Occupant o = std::move(it->second);
  occupants_.erase(it);
  for (const Session& session : o.sessions) key_of_.erase(session.real);
  everyone_.reset();
  notice.unavailable = true;
  broadcast_presence(o, notice);
}

void Room::session_ended(const Jid& real) { leave(real, {}); }

// Server shutdown: each occupant hears that it is out; the others need not be told one by
// one, they are all leaving too.
void Room::shut_down() {
  Notice notice;
  notice.unavailable = true;
  notice.codes.push_back(332);
  for (const auto& [key, o] : occupants_)
    for (const Session& session : o.sessions) {
      Element p = presence_of(o, notice, true, true);
      p.set_attr("to", session.real.str());
      env_.send(std::move(p));
    }
}

// Messages ---------------------------------------------------------------------------------

void Room::on_message(Element message, const Jid& from, const std::string& nick) {
  std::string_view type = message.attr_or("type", "normal");
  if (type == "error") {
    // An occupant whose client or server says it is not there any more is removed (333);
    // other errors (a client that failed to handle a stanza) change nothing.
    if (nick.empty() && find(from) && gone_error(message)) leave(from, {}, {333});
    return;
  }
  if (!nick.empty()) return private_message(std::move(message), from, nick);
  if (type == "groupchat") return groupchat(std::move(message), from);
  if (const Element* x = message.child("x", kMucUser); x && (x->child("invite", kMucUser) || x->child("decline", kMucUser)))
    return invite_or_decline(message, from);
  env_.send(stanza::error(message, "bad-request"));
}

// §7.4, §8.1 (subject), §7.9; XEP-0313 archive and XEP-0424 retraction.
void Room::groupchat(Element message, const Jid& from, bool checked) {
  Occupant* o = find(from);
  if (!o) return env_.send(stanza::error(message, "not-acceptable"));
  if (o->role == Role::visitor) return env_.send(stanza::error(message, "forbidden"));
  if (const Element* retract = message.child("retract", archive::kRetract); retract && !checked && archived()) {
    // An occupant takes back only their own message: the archive knows whose it was.
    std::string id(retract->attr_or("id"));
    auto done = [message, from, id](Room& room, archive::RetractOutcome outcome) mutable {
      if (outcome == archive::RetractOutcome::forbidden)
        return room.env_.send(stanza::error(message, "forbidden", "that message was not sent by you"));
      room.history_.remove_if([&](const Element& m) {
        const Element* sid = archive::stanza_id(m, room.jid_.str());
        return sid && sid->attr_or("id") == id;
      });
      room.groupchat(std::move(message), from, true);
    };
    return env_.retract(*this, id, from.bare_str(), std::nullopt, std::move(done));
  }
  const Element* subject = message.child("subject", kClient);
  // §8.1: a subject with a body or a thread is a message about something, not a new subject.
  bool subject_change = subject && !message.child("body", kClient) && !message.child("thread", kClient);
  if (subject_change) {
    if (o->role != Role::moderator && !config_.occupants_change_subject)
      return env_.send(stanza::error(message, "forbidden"));
    subject_ = subject->text();
    subject_by_ = o->nick;
    subject_payloads_.clear();
    for (const Element& p : message.nodes())
      if (!p.is_text() && !p.is("subject", kClient) && !p.is("stanza-id", "urn:xmpp:sid:0") && !p.is("delay", "urn:xmpp:delay"))
        subject_payloads_.push_back(p);
  }
  message.set_attr("from", occupant_jid(o->nick).str());
  message.remove_attr("to");
  archive::strip_stanza_ids(message, jid_.str());  // the room's are the room's to give
  if (archived() && archive::archivable(message, true))
    archive::add_stanza_id(message, jid_.str(), env_.archive(*this, message, o->nick, from.bare_str()));
  broadcast_message(message);
  if (subject_change) {
    if (stored()) env_.persist(*this, std::nullopt);
  } else {
    history_.add(std::move(message), Clock::now());
  }
}

// §7.5.
void Room::private_message(Element message, const Jid& from, const std::string& nick) {
  Occupant* sender = find(from);
  if (!sender) return env_.send(stanza::error(message, "not-acceptable"));
  if (message.attr_or("type") == "groupchat") return env_.send(stanza::error(message, "bad-request"));
  const Occupant* target = named(nick);
  if (!target) return env_.send(stanza::error(message, "item-not-found"));
  message.set_attr("from", occupant_jid(sender->nick).str());
  if (!message.child("x", kMucUser)) message.add_child("x", kMucUser);
  for (const Session& session : target->sessions) {  // every client of the occupant
    Element copy = message;
    copy.set_attr("to", session.real.str());
    env_.send(std::move(copy));
  }
}

// §7.8.2 mediated invitations and §7.8.2 declines.
void Room::invite_or_decline(const Element& message, const Jid& from) {
  const Element& x = *message.child("x", kMucUser);
  if (const Element* decline = x.child("decline", kMucUser)) {
    auto to = Jid::parse(decline->attr_or("to"));
    if (!to) return env_.send(stanza::error(message, "jid-malformed"));
    Element m("message", kClient);
    m.set_attr("from", jid_.str());
    m.set_attr("to", to->str());
    if (const std::string* id = message.attr("id")) m.set_attr("id", *id);  // the sender may track it
    Element& forwarded = m.add_child("x", kMucUser).add_child("decline", kMucUser);
    forwarded.set_attr("from", from.bare_str());
    if (const Element* reason = decline->child("reason", kMucUser)) forwarded.add_child(*reason);
    return env_.send(std::move(m));
  }
  Occupant* inviter = find(from);
  if (!inviter) return env_.send(stanza::error(message, "not-acceptable"));
  Affiliation inviter_affiliation = affiliation_of(from);
  if (config_.members_only && inviter_affiliation < Affiliation::admin && !config_.occupants_invite)
    return env_.send(stanza::error(message, "forbidden"));
  std::vector<std::pair<Jid, const Element*>> invites;
  for (const Element& invite : x.nodes()) {
    if (!invite.is("invite", kMucUser)) continue;
    auto to = Jid::parse(invite.attr_or("to"));
    if (!to) return env_.send(stanza::error(message, "jid-malformed"));
    invites.emplace_back(*to, &invite);
  }
  bool affiliations_changed = false;
  for (const auto& [to, invite] : invites) {
    // §9.3: inviting to a members-only room makes the invitee a member.
    if (config_.members_only && affiliation_of(to) == Affiliation::none) {
      affiliations_[to.bare_str()] = Affiliation::member;
      affiliations_changed = true;
    }
    Element m("message", kClient);
    m.set_attr("from", jid_.str());
    m.set_attr("to", to.str());
    if (const std::string* id = message.attr("id")) m.set_attr("id", *id);
    Element& out_x = m.add_child("x", kMucUser);
    Element& forwarded = out_x.add_child("invite", kMucUser);
    forwarded.set_attr("from", from.str());
    if (const Element* reason = invite->child("reason", kMucUser)) forwarded.add_child(*reason);
    if (config_.password_protected) out_x.add_child("password", kMucUser).add_text(config_.password);
    m.add_child("body", kClient).add_text(from.bare_str() + " invites you to the room " + jid_.str());
    env_.send(std::move(m));
  }
  if (affiliations_changed && stored()) env_.persist(*this, std::nullopt);
}

}  // namespace muc

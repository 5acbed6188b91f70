// RFC 6121 §3-4: presence subscriptions (with pre-approval), presence broadcast and probes,
// directed presence, and unavailable presence when a resource goes away.
//
// Subscription stanzas are handled on both sides: the sender's in the outgoing hook, the
// recipient's in the incoming hook. Each side's roster changes on the storage thread
// before the stanza moves on, so the two rosters agree once it has been delivered.

#include <atomic>
#include <exception>
#include <string>
#include <vector>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>

#include "common/log.hpp"
#include "presence_table.hpp"
#include "storage/roster_xml.hpp"
#include "storage/storage_thread.hpp"
#include "subscription_state.hpp"

namespace asio = boost::asio;

namespace xmppd::presence {
namespace {

constexpr const char* kPreApproval = "urn:xmpp:features:pre-approval";

// Set while this module hands an already processed stanza to the router: its incoming
// hook, which runs synchronously inside that call, lets the stanza through once.
thread_local bool t_delivering = false;

ContactState state_of(const std::optional<storage::RosterItem>& row) {
  if (!row) return {};
  return {row->subscription, row->ask, row->pending_in, row->approved, row->in_roster};
}

void apply(const ContactState& state, storage::RosterItem& item) {
  item.subscription = state.subscription;
  item.ask = state.ask;
  item.pending_in = state.pending_in;
  item.approved = state.approved;
  item.in_roster = state.in_roster;
}

Element presence_stanza(std::string_view type, const std::string& from, const std::string& to) {
  Element p("presence", ns::kClient);
  if (!type.empty()) p.set_attr("type", std::string(type));
  p.set_attr("from", from);
  p.set_attr("to", to);
  return p;
}

// A stanza stored with Element::str(jabber:client), parsed back.
// A subscription stanza's effect on one user's roster, as decided on the storage thread.
struct Change {
  Outcome outcome;
  storage::RosterItem item;  // the user's row after the change
  bool push = false;         // the roster item changed visibly
  std::int64_t version = 0;
  bool account_exists = true;
};

Change change_subscription(storage::Storage& s, const Jid& user, const std::string& contact,
                           SubscriptionType type, bool is_inbound, const std::string& stanza_text) {
  if (is_inbound && !s.accounts().exists(user.node(), user.domain())) return {.account_exists = false};
  storage::RosterStore& roster = s.roster();
  std::optional<storage::RosterItem> row = roster.item(user.node(), user.domain(), contact);
  ContactState before = state_of(row);
  Change change{is_inbound ? inbound(before, type) : outbound(before, type)};
  change.item = row.value_or(storage::RosterItem{.jid = contact});
  apply(change.outcome.next, change.item);
  if (!change.item.pending_in) change.item.pending_stanza.clear();
  else if (!before.pending_in) change.item.pending_stanza = stanza_text;  // kept for redelivery
  if (change.outcome.next != before) change.version = roster.save(user.node(), user.domain(), change.item);
  change.push = roster_visible_change(before, change.outcome.next);
  return change;
}

struct Roster {
  std::vector<storage::RosterItem> items;
  std::vector<storage::RosterItem> pending;  // subscription requests awaiting the user
};

class PresenceModule final : public Module {
 public:
  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    ctx.add_stream_feature([](Element& features, bool authenticated) {
      if (authenticated) features.add_child("sub", kPreApproval);
    });
    ctx.on_presence_broadcast(0, [this](PresenceEvent& e) {
      on_broadcast(e);
      return HookResult::pass;
    });
    ctx.on_outgoing(0, [this](StanzaEvent& e) { return on_outgoing(e); });
    ctx.on_incoming(0, [this](StanzaEvent& e) { return on_incoming(e); });
    ctx.on_session_closed(0, [this](SessionEvent& e) {
      if (auto directed = table_.set_unavailable(e.jid)) {
        Element unavailable("presence", ns::kClient);
        unavailable.set_attr("type", "unavailable");
        unavailable.set_attr("from", e.jid.str());
        ctx_->spawn(broadcast_unavailable(e.jid, std::move(unavailable), std::move(*directed)));
      }
      return HookResult::pass;
    });
  }

 private:
  // Hooks (network threads) ------------------------------------------------------------

  void on_broadcast(const PresenceEvent& e) {
    Element presence = e.presence;
    if (presence.attr_or("type").empty()) {
      bool initial = table_.set_available(e.from, presence);
      ctx_->spawn(broadcast_available(e.from, std::move(presence), initial));
    } else if (auto directed = table_.set_unavailable(e.from)) {
      ctx_->spawn(broadcast_unavailable(e.from, std::move(presence), std::move(*directed)));
    }
  }

  // A user's presence with a 'to'.
  HookResult on_outgoing(StanzaEvent& e) {
    if (e.stanza.name() != "presence") return HookResult::pass;
    std::string_view type = e.stanza.attr_or("type");
    if (auto subscription = subscription_type(type)) {
      Jid user = e.from.bare(), contact = e.to.bare();
      if (user == contact) return HookResult::handled;  // one's own presence needs no subscription
      // §3.1.2: subscription stanzas travel between bare JIDs.
      Element stanza = e.stanza;
      stanza.set_attr("from", user.str());
      stanza.set_attr("to", contact.str());
      // The user's later output waits for this roster write (a reply means it is done).
      ctx_->spawn(outbound_subscription(std::move(stanza), user, contact, *subscription, ctx_->output_hold()));
      return HookResult::handled;
    }
    if (type.empty() || type == "unavailable") table_.directed(e.from, e.to.str(), type.empty());
    return HookResult::pass;
  }

  // Presence for one of this host's users.
  HookResult on_incoming(StanzaEvent& e) {
    if (t_delivering) {
      t_delivering = false;
      return HookResult::pass;
    }
    if (e.stanza.name() != "presence") return HookResult::pass;
    std::string_view type = e.stanza.attr_or("type");
    if (auto subscription = subscription_type(type)) {
      Element stanza = e.stanza;
      stanza.set_attr("from", e.from.bare().str());
      stanza.set_attr("to", e.to.bare().str());
      ctx_->spawn(inbound_subscription(std::move(stanza), e.to.bare(), e.from.bare(), *subscription));
      return HookResult::handled;
    }
    if (type == "probe") {
      ctx_->spawn(answer_probe(e.from, e.to.bare()));
      return HookResult::handled;
    }
    return HookResult::pass;
  }

  // Coroutines -------------------------------------------------------------------------

  asio::awaitable<void> outbound_subscription(Element stanza, Jid user, Jid contact, SubscriptionType type,
                                              std::shared_ptr<void> /*hold*/) {
    std::string contact_bare = contact.str();
    auto work = [user, contact_bare, type](storage::Storage& s) {
      return change_subscription(s, user, contact_bare, type, false, {});
    };
    Change change = co_await ctx_->storage().run(std::move(work));
    if (change.push) push(user, change.item, change.version);
    if (change.outcome.forward) ctx_->send(std::move(stanza));  // on to the contact's side
    if (change.outcome.send_presence) send_current_presence(user, contact);
    if (change.outcome.send_unavailable) send_unavailable(user, contact);
  }

  asio::awaitable<void> inbound_subscription(Element stanza, Jid user, Jid contact, SubscriptionType type) {
    std::string contact_bare = contact.str();
    std::string text = stanza.str(ns::kClient);
    auto work = [user, contact_bare, type, text](storage::Storage& s) {
      return change_subscription(s, user, contact_bare, type, true, text);
    };
    Change change = co_await ctx_->storage().run(std::move(work));
    if (!change.account_exists) {
      // §3.1.3: nobody there to approve.
      if (type == SubscriptionType::subscribe)
        ctx_->send(presence_stanza("unsubscribed", user.str(), contact_bare));
      co_return;
    }
    if (change.push) push(user, change.item, change.version);
    if (change.outcome.reply == AutoReply::subscribed)
      ctx_->send(presence_stanza("subscribed", user.str(), contact_bare));
    // A request nobody is online for stays pending and is redelivered at login.
    if (change.outcome.forward) deliver(std::move(stanza));
    if (change.outcome.send_presence) send_current_presence(user, contact);
    if (change.outcome.send_unavailable) send_unavailable(user, contact);
  }

  asio::awaitable<void> broadcast_available(Jid full, Element presence, bool initial) {
    Jid user = full.bare();
    auto load = [user, initial](storage::Storage& s) {
      Roster r{s.roster().items(user.node(), user.domain()), {}};
      if (initial) r.pending = s.roster().pending_in(user.node(), user.domain());
      return r;
    };
    Roster roster = co_await ctx_->storage().run(std::move(load));
    for (const auto& item : roster.items)
      if (has_from(item.subscription)) send_copy(presence, item.jid);
    // §4.2.2: the user's own available resources, the sender included.
    std::vector<Jid> resources = ctx_->sessions_of(user);
    for (const Jid& r : resources)
      if (table_.last(r)) send_copy(presence, r.str());
    if (!initial) co_return;
    for (const Jid& r : resources) {
      if (r == full) continue;
      if (auto other = table_.last(r)) {
        other->set_attr("from", r.str());
        send_copy(*other, full.str());
      }
    }
    // §4.2.1: ask for the presence of everyone the user is subscribed to.
    for (const auto& item : roster.items)
      if (has_to(item.subscription)) ctx_->send(presence_stanza("probe", user.str(), item.jid));
    for (const auto& item : roster.pending) {
      if (auto request = Element::parse(item.pending_stanza)) {
        request->set_attr("to", full.str());
        deliver(std::move(*request));
      }
    }
  }

  asio::awaitable<void> broadcast_unavailable(Jid full, Element presence, std::set<std::string> directed) {
    Jid user = full.bare();
    auto load = [user](storage::Storage& s) { return s.roster().items(user.node(), user.domain()); };
    std::vector<storage::RosterItem> items = co_await ctx_->storage().run(std::move(load));
    presence.set_attr("from", full.str());
    for (const auto& item : items) {
      if (!has_from(item.subscription)) continue;
      send_copy(presence, item.jid);
      directed.erase(item.jid);  // already told
    }
    for (const std::string& to : directed) send_copy(presence, to);
    for (const Jid& r : ctx_->sessions_of(user))
      if (table_.last(r)) send_copy(presence, r.str());
  }

  // §4.3.2: a probe is answered with the current presence of each available resource, and
  // only to a subscriber. Anyone else, and a probe for an account that does not exist (or
  // no longer does), gets "unsubscribed": the prober's server then drops a subscription
  // the user does not grant.
  asio::awaitable<void> answer_probe(Jid prober, Jid user) {
    std::string prober_bare = prober.bare_str();
    auto lookup = [user, prober_bare](storage::Storage& s) {
      return s.roster().item(user.node(), user.domain(), prober_bare);
    };
    std::optional<storage::RosterItem> item = co_await ctx_->storage().run(std::move(lookup));
    if (!item || !has_from(item->subscription))
      co_return ctx_->send(presence_stanza("unsubscribed", user.str(), prober_bare));
    bool any = false;
    for (const Jid& r : ctx_->sessions_of(user)) {
      if (auto last = table_.last(r)) {
        last->set_attr("from", r.str());
        send_copy(*last, prober.str());
        any = true;
      }
    }
    if (!any) ctx_->send(presence_stanza("unavailable", user.str(), prober.str()));
  }

  // Sending ----------------------------------------------------------------------------

  // The user's current presence, from each available resource, to a new subscriber.
  void send_current_presence(const Jid& user, const Jid& contact) {
    for (const Jid& r : ctx_->sessions_of(user)) {
      if (auto last = table_.last(r)) {
        last->set_attr("from", r.str());
        send_copy(*last, contact.str());
      }
    }
  }

  void send_unavailable(const Jid& user, const Jid& contact) {
    for (const Jid& r : ctx_->sessions_of(user))
      if (table_.last(r)) ctx_->send(presence_stanza("unavailable", r.str(), contact.str()));
  }

  void send_copy(Element stanza, const std::string& to) {
    stanza.set_attr("to", to);
    ctx_->send(std::move(stanza));
  }

  // Hands a stanza this module has processed to the recipient's sessions.
  void deliver(Element stanza) {
    t_delivering = true;
    ctx_->send(std::move(stanza));
    t_delivering = false;
  }

  // §2.1.6: roster pushes to the user's resources (the roster module keeps them from
  // resources that never asked for the roster).
  void push(const Jid& user, const storage::RosterItem& item, std::int64_t version) {
    for (const Jid& r : ctx_->sessions_of(user)) {
      std::string id = "presence-push-" + std::to_string(++push_ids_);
      ctx_->send(storage::roster_push(user.str(), r.str(), std::move(id), storage::roster_item_element(item), version));
    }
  }

  ModuleContext* ctx_ = nullptr;
  PresenceTable table_;
  std::atomic<std::uint64_t> push_ids_{0};
};

}  // namespace
}  // namespace xmppd::presence

XMPPD_MODULE("presence", xmppd::presence::PresenceModule);

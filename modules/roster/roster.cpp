// RFC 6121 §2: the roster (jabber:iq:roster get/set, roster pushes to interested
// resources) with XEP-0237 roster versioning. Subscription states change in the presence
// module; both keep the roster in the core's RosterStore.

#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "roster_request.hpp"
#include "storage/roster_xml.hpp"
#include "storage/storage_thread.hpp"

namespace asio = boost::asio;

namespace xmppd::roster {
namespace {

using storage::kRosterNs;
using storage::RosterItem;
using storage::Subscription;

constexpr const char* kRosterVersioning = "urn:xmpp:features:rosterver";

bool has_to(Subscription s) { return s == Subscription::to || s == Subscription::both; }
bool has_from(Subscription s) { return s == Subscription::from || s == Subscription::both; }

// The sender's full JID if the IQ is about the sender's own roster (only the account's
// own resources may read or change it).
std::optional<Jid> own_roster_request(const Element& iq) {
  auto from = Jid::parse(iq.attr_or("from"));
  auto to = Jid::parse(iq.attr_or("to"));
  if (!from || !to || to->bare() != from->bare()) return std::nullopt;
  return from;
}

struct RosterSnapshot {
  std::vector<RosterItem> items;
  std::int64_t version = 0;
};

struct Update {
  enum { done, not_found, over_limit } result = done;
  RosterItem item;  // as stored (for a removal: as it was)
  std::int64_t version = 0;
};

class RosterModule final : public Module {
 public:
  bool reload() override {
    max_items_ = std::size_t(ctx_->config().integer("max_items", 1000, 1, 1000000));
    return true;
  }

  void start(ModuleContext& ctx) override {
    ctx_ = &ctx;
    reload();
    ctx.add_stream_feature([](Element& features, bool authenticated) {
      if (authenticated) features.add_child("ver", kRosterVersioning);
    });
    ctx.on_iq(IqTarget::account, "get", kRosterNs, [this](Element iq) { on_get(std::move(iq)); });
    ctx.on_iq(IqTarget::account, "set", kRosterNs, [this](Element iq) { on_set(std::move(iq)); });
    ctx.on_incoming(10, [this](StanzaEvent& e) { return filter_push(e); });
    ctx.on_session_closed(0, [this](SessionEvent& e) {
      std::lock_guard lock(mutex_);
      interested_.erase(e.jid.str());
      return HookResult::pass;
    });
  }

 private:
  // §2.1.6: a roster push reaches only resources that requested the roster. Pushes come
  // from the user's bare JID to one full JID, whichever module sends them.
  HookResult filter_push(StanzaEvent& e) {
    const Element& s = e.stanza;
    if (s.name() != "iq" || s.attr_or("type") != "set" || e.to.is_bare() || !s.child("query", kRosterNs) ||
        s.attr_or("from") != e.to.bare_str())
      return HookResult::pass;
    std::lock_guard lock(mutex_);
    return interested_.contains(e.to.str()) ? HookResult::pass : HookResult::handled;
  }

  void on_get(Element iq) {
    auto from = own_roster_request(iq);
    if (!from) return ctx_->send(stanza::error(iq, "forbidden"));
    {
      std::lock_guard lock(mutex_);
      interested_.insert(from->str());
    }
    ctx_->spawn(get(std::move(iq), from->bare()));
  }

  asio::awaitable<void> get(Element iq, Jid user) {
    auto load = [user](storage::Storage& s) {
      return RosterSnapshot{s.roster().items(user.node(), user.domain()),
                            s.roster().version(user.node(), user.domain())};
    };
    RosterSnapshot roster = co_await ctx_->storage().run(std::move(load));
    Element reply = stanza::iq_result(iq);
    // XEP-0237 §2.3: the client's copy is current: an empty result, changes come as pushes.
    const std::string* known = iq.child("query", kRosterNs)->attr("ver");
    if (!known || *known != std::to_string(roster.version)) {
      Element& query = reply.add_child("query", kRosterNs);
      query.set_attr("ver", std::to_string(roster.version));
      for (const RosterItem& item : roster.items) query.add_child(storage::roster_item_element(item));
    }
    ctx_->send(std::move(reply));
  }

  void on_set(Element iq) {
    auto from = own_roster_request(iq);
    if (!from) return ctx_->send(stanza::error(iq, "forbidden"));
    auto request = parse_roster_set(*iq.child("query", kRosterNs), from->bare());
    if (auto* rejected = std::get_if<Rejection>(&request))
      return ctx_->send(stanza::error(iq, rejected->condition, rejected->text));
    RosterSet set = std::get<RosterSet>(std::move(request));
    if (set.remove) ctx_->spawn(remove(std::move(iq), from->bare(), set.contact));
    else ctx_->spawn(update(std::move(iq), from->bare(), std::move(set)));
  }

  asio::awaitable<void> update(Element iq, Jid user, RosterSet set) {
    std::size_t limit = max_items_;
    auto store = [user, set, limit](storage::Storage& s) {
      storage::RosterStore& roster = s.roster();
      Update u;
      auto row = roster.item(user.node(), user.domain(), set.contact.str());
      bool added = !row || !row->in_roster;
      if (added && roster.count(user.node(), user.domain()) >= limit) {
        u.result = Update::over_limit;
        return u;
      }
      u.item = row.value_or(RosterItem{.jid = set.contact.str()});
      u.item.in_roster = true;
      u.item.name = set.name;
      u.item.groups = set.groups;
      u.version = roster.save(user.node(), user.domain(), u.item);
      return u;
    };
    Update u = co_await ctx_->storage().run(std::move(store));
    if (u.result == Update::over_limit)
      co_return ctx_->send(stanza::error(iq, "not-allowed", "The roster is full"));
    ctx_->send(stanza::iq_result(iq));
    push(user, storage::roster_item_element(u.item), u.version);
  }

  // §2.5: removing a contact also ends the subscriptions in both directions.
  asio::awaitable<void> remove(Element iq, Jid user, Jid contact) {
    auto store = [user, contact](storage::Storage& s) {
      storage::RosterStore& roster = s.roster();
      Update u;
      auto row = roster.item(user.node(), user.domain(), contact.str());
      if (!row || !row->in_roster) {
        u.result = Update::not_found;
        return u;
      }
      u.item = std::move(*row);
      u.version = roster.remove(user.node(), user.domain(), contact.str());
      return u;
    };
    Update u = co_await ctx_->storage().run(std::move(store));
    if (u.result == Update::not_found) co_return ctx_->send(stanza::error(iq, "item-not-found"));
    ctx_->send(stanza::iq_result(iq));
    Element item("item", kRosterNs);
    item.set_attr("jid", contact.str());
    item.set_attr("subscription", "remove");
    push(user, std::move(item), u.version);
    if (has_to(u.item.subscription) || u.item.ask) send_presence("unsubscribe", user, contact);
    if (has_from(u.item.subscription) || u.item.pending_in) send_presence("unsubscribed", user, contact);
    // §3.2.2: a contact who no longer gets the user's presence sees the user go offline.
    if (has_from(u.item.subscription))
      for (const Jid& session : ctx_->sessions_of(user)) send_presence("unavailable", session, contact);
  }

  void send_presence(const char* type, const Jid& user, const Jid& contact) {
    Element presence("presence", ns::kClient);
    presence.set_attr("type", type);
    presence.set_attr("from", user.str());
    presence.set_attr("to", contact.str());
    ctx_->send(std::move(presence));
  }

  void push(const Jid& user, const Element& item, std::int64_t version) {
    for (const Jid& r : ctx_->sessions_of(user)) {
      std::string id = "roster-push-" + std::to_string(++push_ids_);
      ctx_->send(storage::roster_push(user.str(), r.str(), std::move(id), item, version));
    }
  }

  ModuleContext* ctx_ = nullptr;
  std::atomic<std::size_t> max_items_{1000};
  std::mutex mutex_;
  std::set<std::string> interested_;  // full JIDs that requested the roster
  std::atomic<std::uint64_t> push_ids_{0};
};

}  // namespace
}  // namespace xmppd::roster

XMPPD_MODULE("roster", xmppd::roster::RosterModule);

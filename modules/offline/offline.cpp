// XEP-0160 offline messages: a chat or normal message for an account with no available
// resource is stored (with a XEP-0203 delay stamp) and handed to the account's next
// session that becomes available with a non-negative priority.

#include <atomic>
#include <charconv>
#include <memory>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "offline_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;

constexpr const char* kDelay = "urn:xmpp:delay";
constexpr const char* kHints = "urn:xmpp:hints";
constexpr const char* kChatStates = "http://jabber.org/protocol/chatstates";

enum class Disposition { store, drop, refuse };

// XEP-0160 §3 with the XEP-0334 hints: chat and normal messages are stored, unless the
// sender asked not to (refused, so the sender learns it was not delivered) or they carry
// nothing but a chat state, which is stale by the time anyone reads it (dropped).
Disposition disposition(const Element& message) {
  std::string_view type = message.attr_or("type", "normal");
  if (type != "normal" && type != "chat") return Disposition::refuse;
  if (message.child("no-store", kHints) || message.child("no-permanent-store", kHints)) return Disposition::refuse;
  if (message.child("store", kHints)) return Disposition::store;
  for (const Element& n : message.nodes()) {
    if (n.is_text() || n.ns() == kChatStates || n.ns() == kHints) continue;
    if (n.is("thread", xmppd::ns::kClient)) continue;
    return Disposition::store;  // a body, a subject, or any other payload
  }
  return Disposition::drop;
}

int priority_of(const Element& presence) {
  std::string text = presence.child_text("priority", xmppd::ns::kClient);
  int priority = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), priority);
  return ec == std::errc() && end == text.data() + text.size() ? priority : 0;
}

class OfflineModule final : public xmppd::Module {
 public:
  bool reload() override {
    max_messages_ = ctx_->config().integer("max_messages", 100, 1, 1'000'000);
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    reload();
    store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<offline::OfflineStore>(s.database()); });
    ctx.add_feature("msgoffline");
    ctx.on_undelivered(0, [this](xmppd::StanzaEvent& event) { return on_undelivered(event); });
    ctx.on_presence_broadcast(0, [this](xmppd::PresenceEvent& event) {
      if (!event.presence.attr("type") && priority_of(event.presence) >= 0) deliver_stored(event.from);
      return HookResult::pass;
    });
  }

 private:
  HookResult on_undelivered(xmppd::StanzaEvent& event) {
    if (event.stanza.name() != "message") return HookResult::pass;
    switch (disposition(event.stanza)) {
      case Disposition::refuse: return HookResult::pass;  // the router answers service-unavailable
      case Disposition::drop: return HookResult::handled;
      case Disposition::store: break;
    }
    store(event.stanza, event.to.bare());
    return HookResult::handled;
  }

  // Writes run in hook order: the coroutines start in the order they are spawned on the
  // module's executor and the single storage thread runs their writes in that order.
  void store(const Element& message, Jid to) {
    Element stamped = message;
    // A message that bounced back here on its way to a session that just closed keeps its
    // original stamp.
    bool already_stamped = false;
    for (const Element& n : stamped.nodes())
      already_stamped |= n.is("delay", kDelay) && n.attr_or("from") == ctx_->host();
    if (!already_stamped) {
      Element& delay = stamped.add_child("delay", kDelay);
      delay.set_attr("from", ctx_->host());
      delay.set_attr("stamp", xmppd::stanza::datetime());
    }
    auto task = [this, original = message, text = stamped.str(xmppd::ns::kClient),
                 to = std::move(to)]() -> boost::asio::awaitable<void> {
      auto write = [offline_store = store_, &text, &to, max = max_messages_.load()](xmppd::storage::Storage&) {
        return offline_store->add(to.node(), to.domain(), text, max);
      };
      std::string condition;
      try {
        if (!co_await ctx_->storage().run(write)) condition = "resource-constraint";
      } catch (const std::exception& e) {
        xmppd::log::error("offline: cannot store a message for ", to.bare_str(), ": ", e.what());
        condition = "service-unavailable";
      }
      if (condition.empty())
        co_return xmppd::log::debug("offline: stored message '", original.attr_or("id"), "' for ", to.bare_str());
      if (xmppd::stanza::may_reply_with_error(original)) ctx_->send(xmppd::stanza::error(original, condition));
    };
    ctx_->spawn(std::move(task));
  }

  // Messages are deleted in the same storage task that reads them: the session is bound,
  // and should it close before they reach it, the router sends them back through the
  // undelivered hook, which stores them again.
  void deliver_stored(const Jid& session) {
    auto task = [this, session]() -> boost::asio::awaitable<void> {
      auto take = [offline_store = store_, &session](xmppd::storage::Storage&) {
        return offline_store->take_all(session.node(), session.domain());
      };
      std::vector<std::string> stored;
      try {
        stored = co_await ctx_->storage().run(take);
      } catch (const std::exception& e) {
        xmppd::log::error("offline: cannot read the messages of ", session.bare_str(), ": ", e.what());
        co_return;
      }
      for (const std::string& text : stored) {
        auto message = Element::parse(text);
        if (!message) {
          xmppd::log::error("offline: dropping an unreadable stored message for ", session.bare_str());
          continue;
        }
        message->set_attr("to", session.str());
        ctx_->send(std::move(*message));
      }
    };
    ctx_->spawn(std::move(task));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::atomic<std::int64_t> max_messages_{100};
  std::shared_ptr<offline::OfflineStore> store_;  // used on the storage thread only
};

}  // namespace

XMPPD_MODULE("offline", OfflineModule);

// XEP-0160 offline messages: a chat or normal message for an account with no available
// resource is stored (with a XEP-0203 delay stamp) and handed to the account's next
// session that becomes available with a non-negative priority.

#include <algorithm>
#include <atomic>
#include <charconv>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "archive_policy.hpp"
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

  // A message waiting for the next drain.
  struct Pending {
    Jid to;
    std::string text;  // stamped, serialized
    Element original;  // to answer with an error
    std::int64_t max_messages;
    const char* refused = nullptr;  // set by the drain: the error condition if not stored
    std::shared_ptr<void> hold;     // the sender's later output waits for this write
    std::string sender;             // bare JID
    std::string message_id;
    std::string retracts;           // see OfflineStore::NewMessage
  };

  // At most this many messages per transaction, so that none grows without bound.
  static constexpr std::size_t kMaxBatch = 1000;

  // Group commit: messages are queued here and written by a drain on the storage thread,
  // one transaction (one fsync) for all that arrived while the previous one committed,
  // instead of one per message.
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
    bool schedule = false;
    {
      std::lock_guard lock(mutex_);
      auto sender = Jid::parse(message.attr_or("from"));
      const Element* retract = message.child("retract", archive::kRetract);
      queue_.push_back({std::move(to), stamped.str(xmppd::ns::kClient), message, max_messages_.load(), nullptr,
                        ctx_->output_hold(), sender ? sender->bare_str() : std::string(),
                        archive::message_id(message), retract ? std::string(retract->attr_or("id")) : std::string()});
      schedule = !drain_scheduled_;
      drain_scheduled_ = true;
    }
    // Ordering: the router runs this hook on the module's executor, where the drain is
    // spawned now, so its storage task reaches the (FIFO) storage thread before that of any
    // take_all spawned later; a message that finds a drain scheduled joins that drain,
    // which has not taken the queue yet. Writes follow the queue, in arrival order.
    if (schedule) ctx_->spawn(drain());
  }

  boost::asio::awaitable<void> drain() {
    auto write = [this](xmppd::storage::Storage&) { return write_queued(); };
    std::vector<Pending> written = co_await ctx_->storage().run(write);
    bool log_stored = xmppd::log::enabled(xmppd::log::Level::debug);
    for (const Pending& p : written) {
      if (!p.refused) {
        if (log_stored)
          xmppd::log::debug("offline: stored message '", p.original.attr_or("id"), "' for ", p.to.bare_str());
      } else if (xmppd::stanza::may_reply_with_error(p.original)) {
        ctx_->send(xmppd::stanza::error(p.original, p.refused));
      }
    }
  }

  // On the storage thread: writes everything queued, in order, kMaxBatch per transaction.
  // All of it, not kMaxBatch and the rest later: the storage thread finishes its queued
  // tasks at shutdown, while a next drain spawned then might never start.
  std::vector<Pending> write_queued() {
    std::vector<Pending> batch;
    {
      std::lock_guard lock(mutex_);
      batch.swap(queue_);
      drain_scheduled_ = false;  // what arrives from now on goes to the next drain
    }
    for (std::size_t first = 0; first < batch.size(); first += kMaxBatch) {
      std::size_t end = std::min(batch.size(), first + kMaxBatch);
      std::vector<offline::OfflineStore::NewMessage> rows;
      rows.reserve(end - first);
      for (std::size_t i = first; i < end; ++i) {
        Pending& p = batch[i];
        rows.push_back({p.to.node(), p.to.domain(), std::move(p.text), p.max_messages, p.sender, p.message_id,
                        p.retracts});
      }
      try {
        std::vector<bool> stored = store_->add_all(rows);
        for (std::size_t i = first; i < end; ++i)
          if (!stored[i - first]) batch[i].refused = "resource-constraint";
      } catch (const std::exception& e) {
        // One bad row (say, for an account deleted since) fails the whole transaction:
        // retry one by one, so that only the messages that cannot be stored are refused.
        xmppd::log::warn("offline: cannot store ", rows.size(), " messages at once (", e.what(),
                         "); storing them one by one");
        for (std::size_t i = first; i < end; ++i) {
          try {
            if (!store_->add_all({rows[i - first]}).front()) batch[i].refused = "resource-constraint";
          } catch (const std::exception& error) {
            xmppd::log::error("offline: cannot store a message for ", batch[i].to.bare_str(), ": ",
                              error.what());
            batch[i].refused = "service-unavailable";
          }
        }
      }
    }
    return batch;
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
  std::mutex mutex_;  // guards the two below (store() on the executor, the drain on the storage thread)
  std::vector<Pending> queue_;
  bool drain_scheduled_ = false;  // a drain is on its way and has not taken the queue yet
};

}  // namespace

XMPPD_MODULE("offline", OfflineModule);

// XEP-0357 Push Notifications: while all of an account's sessions are hibernated (stream
// management) or it has none, each message for it is announced to the app servers its
// clients registered, which wake the phone. The summary names the count and the sender;
// the body only if the admin allows it.
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "push_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;

constexpr const char* kPush = "urn:xmpp:push:0";
constexpr const char* kPubsub = "http://jabber.org/protocol/pubsub";
constexpr const char* kData = "jabber:x:data";

// What wakes a phone: a message a person would read, the first time it is routed (one
// that comes back from a session that ended unacknowledged carries our delay stamp).
bool worth_a_notification(const Element& message, std::string_view host) {
  std::string_view type = message.attr_or("type", "normal");
  if ((type != "chat" && type != "normal") || !message.child("body", xmppd::ns::kClient)) return false;
  for (const Element& n : message.nodes())
    if (n.is("delay", "urn:xmpp:delay") && n.attr_or("from") == host) return false;
  return true;
}

Element field(std::string var, std::string value) {
  Element f("field", kData);
  f.set_attr("var", std::move(var));
  f.add_child("value", kData).add_text(std::move(value));
  return f;
}

class PushModule final : public xmppd::Module {
 public:
  bool reload() override {
    include_body_ = ctx_->config().boolean("include_body", false);
    include_sender_ = ctx_->config().boolean("include_sender", true);
    max_registrations_ = ctx_->config().integer("max_registrations", 10, 1, 1000);
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    reload();
    store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<push::PushStore>(s.database()); });
    ctx.add_feature(kPush);
    ctx.on_iq(xmppd::IqTarget::account, "set", kPush, [this](Element iq) { on_iq(std::move(iq)); });

    ctx.on_session_hibernated(0, [this](xmppd::SessionEvent& e) { return hibernated(e.jid, true); });
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& e) { return hibernated(e.jid, false); });
    // The user is back: the count of messages announced starts again.
    auto back = [this](xmppd::SessionEvent& e) {
      hibernated(e.jid, false);
      std::lock_guard lock(mutex_);
      pending_.erase(e.jid.bare_str());
      return HookResult::pass;
    };
    ctx.on_session_bound(0, back);
    ctx.on_session_resumed(0, back);
    // A message for an account whose every session is hibernated.
    ctx.on_incoming(0, [this](xmppd::StanzaEvent& e) {
      if (e.stanza.name() == "message" && worth_a_notification(e.stanza, ctx_->host()) && all_hibernated(e.to.bare()))
        notify(e.to.bare(), e.stanza);
      return HookResult::pass;
    });
    // ... or that has no session at all (it goes to offline storage after this).
    ctx.on_undelivered(10, [this](xmppd::StanzaEvent& e) {
      if (e.stanza.name() == "message" && worth_a_notification(e.stanza, ctx_->host())) notify(e.to.bare(), e.stanza);
      return HookResult::pass;
    });
  }

 private:
  HookResult hibernated(const Jid& session, bool asleep) {
    std::lock_guard lock(mutex_);
    if (asleep) hibernated_.insert(session.str());
    else hibernated_.erase(session.str());
    any_hibernated_.store(!hibernated_.empty(), std::memory_order_relaxed);
    return HookResult::pass;
  }

  bool all_hibernated(const Jid& account) {
    // On every message: with no session hibernated anywhere (the usual case), no lock.
    if (!any_hibernated_.load(std::memory_order_relaxed)) return false;
    std::vector<Jid> sessions = ctx_->sessions_of(account);
    std::lock_guard lock(mutex_);
    if (sessions.empty()) return false;
    for (const Jid& s : sessions)
      if (!hibernated_.contains(s.str())) return false;
    return true;
  }

  void on_iq(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    const Element* request = iq.first_child();
    std::string service(request ? request->attr_or("jid") : "");
    std::string node(request ? request->attr_or("node") : "");
    if (!from || !request || (request->name() != "enable" && request->name() != "disable") ||
        !Jid::parse(service) || (request->name() == "enable" && node.empty()))
      return ctx_->send(xmppd::stanza::error(iq, "bad-request", "enable needs 'jid' and 'node'; disable 'jid'"));
    Jid account = from->bare();
    push::Registration registration{service, node, {}};
    if (const Element* form = request->child("x", kData)) registration.options = form->str(xmppd::ns::kClient);
    bool enable = request->name() == "enable";
    auto task = [this, iq = std::move(iq), account, registration, enable]() -> boost::asio::awaitable<void> {
      auto write = [store = store_, &account, &registration, enable, max = max_registrations_.load()](
                       xmppd::storage::Storage&) {
        if (!enable) {
          store->remove(account.node(), account.domain(), registration.service, registration.node);
          return true;
        }
        return store->add(account.node(), account.domain(), registration, max);
      };
      bool done = co_await ctx_->storage().run(write);
      if (!done) co_return ctx_->send(xmppd::stanza::error(iq, "resource-constraint", "Too many push registrations"));
      xmppd::log::info("push: ", account.bare_str(), enable ? " enabled " : " disabled ", registration.service,
                       registration.node.empty() ? "" : " node " + registration.node);
      ctx_->send(xmppd::stanza::iq_result(iq));
    };
    ctx_->spawn(std::move(task));
  }

  // Publishes a summary to each of the account's app servers (XEP-0357 §5).
  void notify(const Jid& account, const Element& message) {
    std::size_t count;
    {
      std::lock_guard lock(mutex_);
      count = ++pending_[account.bare_str()];
    }
    std::string sender(message.attr_or("from"));
    std::string body = include_body_ ? message.child_text("body", xmppd::ns::kClient) : std::string();
    auto task = [this, account, sender, body, count]() -> boost::asio::awaitable<void> {
      auto read = [store = store_, &account](xmppd::storage::Storage&) {
        return store->list(account.node(), account.domain());
      };
      std::vector<push::Registration> registrations = co_await ctx_->storage().run(read);
      for (const push::Registration& r : registrations) publish(account, r, sender, body, count);
    };
    ctx_->spawn(std::move(task));
  }

  void publish(const Jid& account, const push::Registration& r, const std::string& sender, const std::string& body,
               std::size_t count) {
    Element iq("iq", xmppd::ns::kClient);
    iq.set_attr("type", "set");
    iq.set_attr("from", account.str());
    iq.set_attr("to", r.service);
    Element& pubsub = iq.add_child("pubsub", kPubsub);
    Element& publish = pubsub.add_child("publish", kPubsub);
    publish.set_attr("node", r.node);
    Element& form = publish.add_child("item", kPubsub).add_child("notification", kPush).add_child("x", kData);
    form.set_attr("type", "submit");
    form.add_child(field("FORM_TYPE", "urn:xmpp:push:summary"));
    form.add_child(field("message-count", std::to_string(count)));
    if (include_sender_) form.add_child(field("last-message-sender", sender));
    if (!body.empty()) form.add_child(field("last-message-body", body));
    if (!r.options.empty()) {
      if (auto options = Element::parse(r.options)) pubsub.add_child("publish-options", kPubsub).add_child(std::move(*options));
    }
    ctx_->send_iq(std::move(iq), [this, account, r](const Element& reply) {
      if (reply.attr_or("type") != "error") return;
      // XEP-0357 §7: an app server that refuses is not asked again; one that asks to wait is.
      const Element* error = reply.child("error", xmppd::ns::kClient);
      if (error && error->attr_or("type") == "wait") return;
      xmppd::log::info("push: ", r.service, " refused a notification for ", account.bare_str(),
                       "; registration disabled");
      auto forget = [store = store_, account, r](xmppd::storage::Storage&) {
        store->remove(account.node(), account.domain(), r.service, r.node);
      };
      ctx_->spawn([this, forget]() -> boost::asio::awaitable<void> { co_await ctx_->storage().run(forget); });
    });
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::shared_ptr<push::PushStore> store_;  // used on the storage thread only
  std::atomic<bool> include_body_{false};
  std::atomic<bool> include_sender_{true};
  std::atomic<std::int64_t> max_registrations_{10};
  std::mutex mutex_;  // guards the two below (hooks run on every network thread)
  std::set<std::string> hibernated_;                     // full JIDs
  std::atomic<bool> any_hibernated_{false};
  std::unordered_map<std::string, std::size_t> pending_;  // messages announced since the user was last here
};

}  // namespace

XMPPD_MODULE("push", PushModule);

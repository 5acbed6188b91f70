// XEP-0012 Last Activity: for an account, how long ago its last session ended (0 while it
// has one); for the server, its uptime.

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "last_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

using xmppd::Element;
using xmppd::Jid;

constexpr const char* kLast = "jabber:iq:last";

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Element answer(const Element& iq, std::int64_t seconds, const std::string& status = {}) {
  Element reply = xmppd::stanza::iq_result(iq);
  Element& query = reply.add_child("query", kLast);
  query.set_attr("seconds", std::to_string(std::max<std::int64_t>(seconds, 0)));
  if (!status.empty()) query.add_text(status);
  return reply;
}

class LastModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    started_ = std::chrono::steady_clock::now();
    store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<last::LastStore>(s.database()); });
    ctx.add_feature(kLast);
    ctx.on_iq(xmppd::IqTarget::server, "get", kLast, [this](Element iq) {
      auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
      ctx_->send(answer(iq, uptime.count()));
    });
    ctx.on_iq(xmppd::IqTarget::account, "get", kLast, [this](Element iq) { account_query(std::move(iq)); });
    // The status of a resource's unavailable presence, kept until its session closes: the
    // last one to close leaves it as the account's (XEP-0012 §4).
    ctx.on_presence_broadcast(0, [this](xmppd::PresenceEvent& e) {
      std::lock_guard lock(mutex_);
      if (e.presence.attr_or("type") == "unavailable")
        leaving_[e.from.str()] = e.presence.child_text("status", xmppd::ns::kClient);
      else
        leaving_.erase(e.from.str());
      return xmppd::HookResult::pass;
    });
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& event) {
      std::string status;
      {
        std::lock_guard lock(mutex_);
        if (auto it = leaving_.find(event.jid.str()); it != leaving_.end()) {
          status = std::move(it->second);
          leaving_.erase(it);
        }
      }
      if (ctx_->sessions_of(event.jid.bare()).empty()) record_logout(event.jid.bare(), std::move(status));
      return xmppd::HookResult::pass;
    });
  }

 private:
  // §3: only the account itself and those subscribed to its presence may learn it;
  // anyone else is forbidden (whether or not the account exists).
  void account_query(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || !to) return ctx_->send(xmppd::stanza::error(iq, "forbidden"));
    auto task = [this, iq = std::move(iq), account = to->bare(),
                 requester = from->bare()]() -> boost::asio::awaitable<void> {
      struct Seen {
        bool allowed = false;
        std::optional<last::LastStore::Logout> logout;
      };
      auto read = [last_store = store_, &account, &requester](xmppd::storage::Storage& s) {
        Seen seen;
        if (requester == account) {
          seen.allowed = true;
        } else if (auto item = s.roster().item(account.node(), account.domain(), requester.bare_str())) {
          seen.allowed = item->subscription == xmppd::storage::Subscription::from ||
                         item->subscription == xmppd::storage::Subscription::both;
        }
        if (seen.allowed) seen.logout = last_store->last_logout(account.node(), account.domain());
        return seen;
      };
      Seen seen;
      try {
        seen = co_await ctx_->storage().run(read);
      } catch (const std::exception& e) {
        xmppd::log::error("last: cannot read for ", account.bare_str(), ": ", e.what());
        co_return ctx_->send(xmppd::stanza::error(iq, "internal-server-error"));
      }
      if (!seen.allowed) co_return ctx_->send(xmppd::stanza::error(iq, "forbidden"));
      if (!ctx_->sessions_of(account).empty()) co_return ctx_->send(answer(iq, 0));
      // No logout on record: the account never had a session.
      if (!seen.logout) co_return ctx_->send(xmppd::stanza::error(iq, "item-not-found"));
      ctx_->send(answer(iq, unix_now() - seen.logout->at, seen.logout->status));
    };
    ctx_->spawn(std::move(task));
  }

  void record_logout(Jid account, std::string status) {
    auto task = [this, account = std::move(account), logout = last::LastStore::Logout{unix_now(), std::move(status)}]()
        -> boost::asio::awaitable<void> {
      auto write = [last_store = store_, &account, &logout](xmppd::storage::Storage&) {
        last_store->set_logout(account.node(), account.domain(), logout);
      };
      try {
        co_await ctx_->storage().run(write);
      } catch (const std::exception& e) {
        xmppd::log::error("last: cannot record the logout of ", account.bare_str(), ": ", e.what());
      }
    };
    ctx_->spawn(std::move(task));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<last::LastStore> store_;  // used on the storage thread only
  std::mutex mutex_;                         // guards leaving_ (hooks run on every network thread)
  std::unordered_map<std::string, std::string> leaving_;  // full JID → status of its unavailable presence
};

}  // namespace

XMPPD_MODULE("last", LastModule);

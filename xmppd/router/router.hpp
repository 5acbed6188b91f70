// Routes stanzas between local sessions (RFC 6121 §8) and to the server's IQ handlers.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <atomic>
#include <optional>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

#include "module/host.hpp"
#include "router/session.hpp"

namespace xmppd::storage { class StorageThread; }

namespace xmppd::router {

class Router {
 public:
  Router(const std::vector<std::string>& local_domains, storage::StorageThread& storage,
         boost::asio::any_io_executor background);

  // Whether the domain is served here: a virtual host or a module's component.
  bool is_local(std::string_view domain) const {
    return hosts_.contains(domain) || components_.contains(domain);
  }
  // The hosted domain's module registrations, or nullptr if not hosted here.
  module::Host* host(std::string_view domain) const;

  // Registers a component domain (while the modules start, before serving). Its handler
  // runs on the returned strand. Throws std::logic_error if the domain is taken.
  boost::asio::any_io_executor add_component(std::string domain, boost::asio::any_io_executor executor,
                                             ModuleContext::ComponentHandler handler);

  // Session table ---------------------------------------------------------------------
  // Registers a bound session; an existing session of the same full JID is replaced().
  void bind(const std::shared_ptr<Session>& session);
  // Removes the session (only if the table still holds this very session).
  void unbind(const Session& session);
  // Records the session's broadcast presence, which decides bare-JID message delivery.
  void set_presence(const Session& session, bool available, int priority);
  std::shared_ptr<Session> find(const Jid& full) const;
  std::vector<std::shared_ptr<Session>> sessions_of(const Jid& bare) const;
  // Every bound session of a hosted domain (admin listings; walks all shards).
  std::vector<std::shared_ptr<Session>> sessions_on(std::string_view domain) const;

  // Routing ----------------------------------------------------------------------------
  // Routes a stanza whose 'from' is already stamped (by the sender's session, or by the
  // server for its own stanzas). Callable from any thread.
  void route(Element stanza);
  // The same, with the addresses already parsed by the caller.
  void route(Element stanza, const Jid& from, const Jid& to);
  // Routes a message again that was written to a session which then ended without
  // acknowledging it (XEP-0198): as route(), but one that finds nowhere to go is dropped
  // instead of bounced, since its recipient may well have read it.
  void reroute(Element message);
  // Delivers one stanza to many full JIDs, serialized once ('to' is the only difference).
  void route_to_many(const Element& stanza, const std::vector<Jid>& recipients);

  // Fan-out pieces (route_to_many, Audience). The stanza serialized once without 'to' and
  // without its first '<name': what every copy shares.
  static std::shared_ptr<const std::string> shared_tail(const Element& stanza);
  // " to='<jid>'", escaped, appended to `out`.
  static void append_to_attr(std::string& out, const Jid& to);
  // Whether a session's executor is the calling thread's (a call to it can be made now).
  static bool runs_here(const boost::asio::any_io_executor& executor);
  // One copy, `head` + `tail`, to a session: now if it lives on this thread, else posted.
  static void deliver_copy(const std::shared_ptr<Session>& session, std::string_view head,
                           const std::shared_ptr<const std::string>& tail);
  // A recipient with no session here: a copy addressed to it takes the normal route
  // (offline storage, errors).
  void route_copy(const Element& stanza, const Jid& to);
  // Whether the delivery filters of `to`'s host let it have a stanza from `from` (nullopt:
  // a sender the stanza did not name, which no filter can judge).
  bool accepts(const Jid& to, const std::optional<Jid>& from) const;

  // Requests the server sends (ModuleContext::send_iq) ----------------------------------
  using ReplyHandler = std::function<void(Element reply)>;
  std::string new_request_id();
  // The result or error with this id from `responder` (to the host or an account) goes to
  // `handler` instead of being dropped.
  void expect_reply(std::string id, Jid responder, ReplyHandler handler);
  // Takes the handler back (the request timed out); nullopt if the reply came first.
  std::optional<ReplyHandler> take_reply_handler(const std::string& id);

 private:
  struct Entry {
    std::string resource;
    std::shared_ptr<Session> session;
    bool available = false;
    int priority = 0;
  };
  struct Shard {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::vector<Entry>> users;  // by bare JID
  };

  Shard& shard_of(const std::string& bare) const;
  void route_to_domain(Element& stanza, module::Host& host, const Jid& from);
  void route_to_account(Element& stanza, module::Host& host, const Jid& to, const Jid& from);
  void route_to_bare(Element& stanza, module::Host& host, const Jid& to, const Jid& from);
  void route_to_full(Element& stanza, module::Host& host, const Jid& to, const Jid& from);
  bool dispatch_iq(const module::Host& host, IqTarget target, Element& iq);
  void handle_unavailable_account(Element stanza, module::Host& host, const Jid& to, const Jid& from);
  void bounce(const Element& stanza, std::string_view condition);
  void deliver(const std::vector<std::shared_ptr<Session>>& sessions, const Element& stanza);
  // Whether `iq` (a result or error) answers a request of ours: it went to its handler.
  bool take_reply(Element& iq, const Jid& from);

  struct Component {
    boost::asio::any_io_executor strand;
    ModuleContext::ComponentHandler handler;
  };

  std::map<std::string, std::unique_ptr<module::Host>, std::less<>> hosts_;
  std::map<std::string, Component, std::less<>> components_;
  storage::StorageThread& storage_;
  boost::asio::any_io_executor background_;
  mutable std::array<Shard, 64> shards_;

  struct ExpectedReply {
    Jid responder;
    ReplyHandler handler;
  };
  std::mutex requests_mutex_;
  std::unordered_map<std::string, ExpectedReply> requests_;  // by id
  std::atomic<std::uint64_t> request_counter_{0};
};

}  // namespace xmppd::router

// Routes stanzas between local sessions (RFC 6121 §8) and to the server's IQ handlers.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

#include "router/session.hpp"

namespace xmppd::storage { class StorageThread; }

namespace xmppd::router {

// Who an IQ handler answers for.
enum class IqTarget {
  server,   // addressed to a hosted domain itself
  account,  // addressed to a user's bare JID (or sent without 'to'): the server answers for the user
};

class Router {
 public:
  // Handles an IQ of type get or set; replies by calling route() with the answer.
  using IqHandler = std::function<void(Element iq)>;
  // Offered a message that found no available resource of an existing account. Returns
  // true if it took the message (offline storage); otherwise the sender gets an error.
  using UndeliveredHandler = std::function<bool(Element& message)>;

  Router(std::vector<std::string> local_domains, storage::StorageThread& storage,
         boost::asio::any_io_executor background);

  bool is_local(std::string_view domain) const { return domains_.contains(std::string(domain)); }

  // Session table ---------------------------------------------------------------------
  // Registers a bound session; an existing session of the same full JID is replaced().
  void bind(const std::shared_ptr<Session>& session);
  // Removes the session (only if the table still holds this very session).
  void unbind(const Session& session);
  // Records the session's broadcast presence, which decides bare-JID message delivery.
  void set_presence(const Session& session, bool available, int priority);
  std::shared_ptr<Session> find(const Jid& full) const;
  std::vector<std::shared_ptr<Session>> sessions_of(const Jid& bare) const;
  std::size_t session_count() const;

  // Routing ----------------------------------------------------------------------------
  // Routes a stanza whose 'from' is already stamped (by the sender's session, or by the
  // server for its own stanzas). Callable from any thread.
  void route(Element stanza);

  // Extension seams (registered before the server starts; read-only afterwards).
  void on_iq(IqTarget target, std::string type, std::string ns, IqHandler handler);
  void on_undelivered(UndeliveredHandler handler) { undelivered_.push_back(std::move(handler)); }

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
  void route_to_domain(Element& stanza, const Jid& to, const Jid& from);
  void route_to_bare(Element& stanza, const Jid& to, const Jid& from);
  void route_to_full(Element& stanza, const Jid& to, const Jid& from);
  bool dispatch_iq(IqTarget target, Element& iq);
  void handle_unavailable_account(Element stanza, const Jid& to);
  void bounce(const Element& stanza, std::string_view condition);
  void deliver(const std::vector<std::shared_ptr<Session>>& sessions, const Element& stanza);

  std::unordered_set<std::string> domains_;
  storage::StorageThread& storage_;
  boost::asio::any_io_executor background_;
  mutable std::array<Shard, 64> shards_;
  std::map<std::pair<IqTarget, std::string>, IqHandler> iq_handlers_;  // key: target, "type ns"
  std::vector<UndeliveredHandler> undelivered_;
};

}  // namespace xmppd::router

// The module API: everything a feature module may use. A module is registered by name,
// enabled per virtual host in the config, and started once per host it is enabled on.
// It only declares what it handles; it never edits the core.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/http.hpp>
#include <xmppd/jid.hpp>
#include <xmppd/module_config.hpp>

namespace xmppd {

namespace storage { class StorageThread; }
namespace auth { struct ScramSecret; }

// Bumped whenever this header changes incompatibly; out-of-tree modules must match.
inline constexpr int kModuleApiVersion = 3;

// Whether a hook handler consumed the event (later handlers do not see it) or let it pass.
enum class HookResult { pass, handled };

// Who an IQ handler answers for.
enum class IqTarget {
  server,   // addressed to the host itself ("localhost")
  account,  // addressed to a user's bare JID, or sent by the user without 'to'
};

// Events. Handlers run on the network thread of the session that caused the event and must
// not block: storage work goes through storage().run() in a coroutine (see spawn()).
struct SessionEvent {
  const Jid& jid;  // the session's full JID
};
struct PresenceEvent {
  const Jid& from;          // full JID of the session that broadcast it
  Element& presence;  // <presence/> without 'to' (available or unavailable); may be extended
};
struct StanzaEvent {
  Element& stanza;  // 'from' stamped; may be edited by the handler
  const Jid& from;
  const Jid& to;
};
struct AccountEvent {
  const Jid& account;  // bare JID
};

// A fixed list of full JIDs that is sent to again and again (a room's occupants). The core
// finds each recipient's session once, when the list is made, and looks again only for a
// recipient whose session has since gone. Make a new one when the list changes. Not
// thread-safe: use it from one strand.
class Audience {
 public:
  virtual ~Audience() = default;
  // Sends one stanza to everyone on the list, as ModuleContext::send_to_many() does.
  virtual void send(const Element& stanza) = 0;
};

class ModuleContext {
 public:
  using IqHandler = std::function<void(Element iq)>;
  // For a stream that has not authenticated: the IQ, the client's IP address, and a way to
  // answer on that very stream (callable from any thread).
  using UnauthenticatedIqHandler =
      std::function<void(Element iq, const std::string& remote_address, std::function<void(Element)> reply)>;
  using StreamFeatureProvider = std::function<void(Element& features, bool authenticated)>;
  // A stanza for a component: 'from' stamped and parsed, 'to' at the component's domain.
  using ComponentHandler = std::function<void(Element stanza, const Jid& from, const Jid& to)>;
  template <class Event>
  using Hook = std::function<HookResult(Event&)>;

  virtual ~ModuleContext() = default;

  // The virtual host this instance serves, and this module's [modules.<name>] settings.
  virtual const std::string& host() const = 0;
  virtual const ModuleConfig& config() const = 0;

  // Stanzas ---------------------------------------------------------------------------
  // Routes a stanza as the server would ('from' must be set: the host, or a user's JID).
  virtual void send(Element stanza) = 0;
  // IQs of `type` ("get"/"set") whose payload is in `ns`. The handler answers with send().
  virtual void on_iq(IqTarget target, std::string type, std::string ns, IqHandler handler) = 0;
  // IQs on a stream that has not authenticated yet (in-band registration).
  virtual void on_unauthenticated_iq(std::string ns, UnauthenticatedIqHandler handler) = 0;

  // Sends one stanza to many full JIDs (a room's occupants), serialized once: each copy
  // differs only in 'to'. Goes straight to the bound sessions, without the incoming hooks;
  // recipients that are not bound sessions here get it through the normal route.
  virtual void send_to_many(const Element& stanza, const std::vector<Jid>& recipients) = 0;
  // The same recipients for many stanzas: see Audience.
  virtual std::unique_ptr<Audience> audience(std::vector<Jid> recipients) = 0;

  // Components ------------------------------------------------------------------------
  // Serves a domain of its own (conference.<host>, upload.<host>, ...): every stanza sent to
  // that domain or to a JID at it reaches `handler`. Calls to one component's handler run
  // one at a time, in arrival order, on the returned strand; run the component's timers and
  // coroutines there too and its state needs no lock. Throws if the domain is taken.
  virtual boost::asio::any_io_executor add_component(std::string domain, ComponentHandler handler) = 0;
  // The component domains this host's modules serve (for disco#items on the host).
  virtual std::vector<std::string> components() const = 0;

  // Hooks; a higher priority runs first -------------------------------------------------
  virtual void on_session_bound(int priority, Hook<SessionEvent> handler) = 0;
  virtual void on_session_closed(int priority, Hook<SessionEvent> handler) = 0;
  virtual void on_presence_broadcast(int priority, Hook<PresenceEvent> handler) = 0;
  // A stanza from a local user, before routing (blocking, carbons, archive, ...).
  virtual void on_outgoing(int priority, Hook<StanzaEvent> handler) = 0;
  // A stanza for a local user's account, before delivery to its sessions.
  virtual void on_incoming(int priority, Hook<StanzaEvent> handler) = 0;
  // A message that found no available resource of an existing account (offline storage).
  virtual void on_undelivered(int priority, Hook<StanzaEvent> handler) = 0;
  virtual void on_account_deleted(int priority, Hook<AccountEvent> handler) = 0;

  // Discovery and stream features --------------------------------------------------------
  virtual void add_feature(std::string ns) = 0;
  virtual void add_identity(std::string category, std::string type, std::string name) = 0;
  virtual void add_stream_feature(StreamFeatureProvider provider) = 0;
  // What every module of this host declared (for the disco module to answer with).
  virtual std::vector<std::string> features() const = 0;
  virtual std::vector<Element> identities() const = 0;

  // Sessions ------------------------------------------------------------------------------
  // Full JIDs of the account's bound sessions.
  virtual std::vector<Jid> sessions_of(const Jid& bare) const = 0;
  // Full JIDs of every bound session on this host.
  virtual std::vector<Jid> all_sessions() const = 0;
  // Whether `jid` (any resource) is one of this host's configured admins.
  virtual bool is_admin(const Jid& jid) const = 0;
  // Tells the router a session's broadcast availability (decides bare-JID delivery).
  virtual void set_available(const Jid& full, bool available, int priority) = 0;

  // Services ------------------------------------------------------------------------------
  virtual storage::StorageThread& storage() = 0;
  // What to store for a new password (salted SCRAM secrets with the server's [auth]
  // iteration count); nullopt for an empty password or one SASLprep rejects.
  virtual std::optional<std::vector<auth::ScramSecret>> password_secrets(std::string_view password) const = 0;
  virtual boost::asio::any_io_executor executor() = 0;  // for timers
  // The host's TLS settings and certificate (for a module's own listener, e.g. HTTPS).
  // Fetch it for each new connection: after a reload (SIGHUP) it holds the new certificate.
  virtual boost::asio::ssl::context& tls_context() = 0;
  // Runs a coroutine on this host's executor; an exception it lets escape is logged with
  // the module's name (and the request it was serving gets no answer: catch what you can).
  // Give a coroutine lambda as a function (it is kept alive while it runs), or a coroutine
  // already made from a member function or free function (whose arguments live in its frame).
  virtual void spawn(std::function<boost::asio::awaitable<void>()> task) = 0;
  virtual void spawn(boost::asio::awaitable<void> task) = 0;
  // Tells every host's modules that an account is gone (they delete its data).
  virtual void account_deleted(const Jid& bare) = 0;
  // The server's data directory ([server] data_dir), for modules that keep files of their
  // own (under a subdirectory named after the module). Declared last: existing slots keep
  // their places for out-of-tree modules.
  virtual const std::string& data_dir() const = 0;

  // Durability ----------------------------------------------------------------------------
  // A hold on the output of the client session whose stanza this thread is handling now
  // (nullptr if none). While any copy of it lives, everything the server sends that session
  // afterwards waits, in order. A module that writes what a client's stanza caused after its
  // handler returned (a group commit) keeps the hold until the write has committed: a reply
  // the client reads later (an IQ result, a stream management ack) then means the write is
  // durable. Take it in the hook or handler itself, before any co_await.
  virtual std::shared_ptr<void> output_hold() = 0;

  // Stream management (XEP-0198) ---------------------------------------------------------
  // A session's connection is gone but the session is kept for the client to resume it:
  // stanzas for it are queued, not read by anyone yet (push notifications start here).
  virtual void on_session_hibernated(int priority, Hook<SessionEvent> handler) = 0;
  // A hibernated session was resumed on a new connection (same full JID).
  virtual void on_session_resumed(int priority, Hook<SessionEvent> handler) = 0;

  // Requests -------------------------------------------------------------------------------
  // Sends an IQ get/set ('from' set, as for send(); 'id' is assigned) and calls `on_reply`
  // once, on this host's executor, with the result or error, or with a
  // remote-server-timeout error made here if nothing came back within `timeout`.
  virtual void send_iq(Element iq, std::function<void(const Element& reply)> on_reply,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30)) = 0;

  // Accounts -------------------------------------------------------------------------------
  // Features served at every account's bare JID (the archive, PEP), for the account's own
  // disco#info; and what every module of this host declared so.
  virtual void add_account_feature(std::string ns) = 0;
  virtual std::vector<std::string> account_features() const = 0;
  virtual void add_account_identity(std::string category, std::string type, std::string name) = 0;
  virtual std::vector<Element> account_identities() const = 0;
  // A stanza a local user's session sent, which an outgoing hook held back (returned
  // handled) to check something first, goes on as if just sent: the outgoing hooks run on
  // it again (the holding one must let it pass this time), then it is routed. 'from' is
  // the session's full JID.
  virtual void resubmit(Element stanza) = 0;

  // HTTP ---------------------------------------------------------------------------------
  // Serves `path` (exactly, or everything below it when it ends with '/') on the server's
  // HTTP listeners ([[http.listen]]), shared by every host: put the host in the path. Throws
  // std::runtime_error if there is no listener or the path is taken.
  virtual void add_http_route(std::string path, HttpHandler handler) = 0;
  // Where clients reach those routes for this host: "https://<host>:<port>" of the first
  // HTTPS listener, else "http://..." of the first plain one; empty without listeners.
  virtual std::string http_url() const = 0;

  // Delivery -------------------------------------------------------------------------------
  // Whether this host's user `to` (bare or full) takes stanzas from `from` at all (a
  // blocklist may say no). send_to_many() and an Audience skip the incoming hooks, so they
  // ask every filter for each recipient instead. Called on any network thread: keep it quick.
  using DeliveryFilter = std::function<bool(const Jid& to, const Jid& from)>;
  virtual void add_delivery_filter(DeliveryFilter filter) = 0;

  // As spawn(), on `executor` instead of the host's: a strand the module's work is ordered
  // on (a component's, or its own made with make_strand(executor())).
  virtual void spawn(boost::asio::any_io_executor executor, boost::asio::awaitable<void> task) = 0;
};

class Module {
 public:
  virtual ~Module() = default;
  // Register handlers, hooks and features here. Throw ConfigError for bad settings.
  virtual void start(ModuleContext& ctx) = 0;
  // The server is shutting down; stanzas sent from here still reach the clients, before
  // their streams end with <system-shutdown/>.
  virtual void stop() {}
  // The config file was reloaded (SIGHUP) and this module's settings changed: read them
  // again from ctx.config() and return true, or return false to keep the old ones until
  // the next restart. Handlers keep running meanwhile: keep what they read in atomics.
  virtual bool reload() { return false; }
};

using ModuleFactory = std::unique_ptr<Module> (*)();

// Built-in modules register themselves at static-initialization time.
bool register_module(std::string_view name, ModuleFactory factory);

// Out-of-tree modules export this, and nothing else, from their shared object.
struct ModuleInfo {
  int api_version;  // kModuleApiVersion at build time
  const char* name;
  ModuleFactory factory;
};

}  // namespace xmppd

// In a built-in module's .cpp: XMPPD_MODULE("ping", PingModule);
#define XMPPD_MODULE(name, type)                                               \
  static const bool xmppd_module_registered_ = ::xmppd::register_module(       \
      name, []() -> std::unique_ptr<::xmppd::Module> { return std::make_unique<type>(); })

// In an out-of-tree module's .cpp: XMPPD_EXPORT_MODULE("hello", HelloModule);
#define XMPPD_EXPORT_MODULE(name, type)                                         \
  extern "C" const ::xmppd::ModuleInfo* xmppd_module_info() {                   \
    static const ::xmppd::ModuleInfo info{                                      \
        ::xmppd::kModuleApiVersion, name,                                       \
        []() -> std::unique_ptr<::xmppd::Module> { return std::make_unique<type>(); }}; \
    return &info;                                                               \
  }

// ModuleContext for one module on one virtual host: what the module registers lands in
// that host's tables; what it sends goes through the router.
#pragma once

#include <xmppd/module.hpp>

#include "module/host.hpp"
#include "net/tls.hpp"

namespace xmppd::router { class Router; }
namespace xmppd::net::http { class Server; }

namespace xmppd::module {

class HostContext final : public ModuleContext {
 public:
  // `settings`, `module`, `file`: see ModuleConfig.
  HostContext(Host& host, router::Router& router, storage::StorageThread& storage,
              boost::asio::any_io_executor executor, net::TlsContexts& tls, net::http::Server& http,
              unsigned scram_iterations, std::string data_dir, std::shared_ptr<const toml::table> settings,
              std::string module, std::string file)
      : host_(host), router_(router), storage_(storage), executor_(std::move(executor)), tls_(tls), http_(http),
        scram_iterations_(scram_iterations), data_dir_(std::move(data_dir)),
        module_(module), file_(std::move(file)),
        settings_(std::move(settings)), config_(std::make_unique<ModuleConfig>(settings_, module_, file_)) {}

  const std::string& host() const override { return host_.domain; }
  const std::string& module_name() const { return module_; }
  const ModuleConfig& config() const override { return *config_; }
  // After a config reload: takes the new [modules.*] tables; whether this module's changed.
  bool replace_settings(std::shared_ptr<const toml::table> settings);

  void send(Element stanza) override;
  void send_to_many(const Element& stanza, const std::vector<Jid>& recipients) override;
  std::unique_ptr<Audience> audience(std::vector<Jid> recipients) override;
  boost::asio::any_io_executor add_component(std::string domain, ComponentHandler handler) override;
  std::vector<std::string> components() const override { return host_.components; }
  void on_iq(IqTarget target, std::string type, std::string ns, IqHandler handler) override;
  void on_unauthenticated_iq(std::string ns, UnauthenticatedIqHandler handler) override;

  void on_session_bound(int priority, Hook<SessionEvent> h) override { host_.session_bound.add(priority, std::move(h)); }
  void on_session_closed(int priority, Hook<SessionEvent> h) override { host_.session_closed.add(priority, std::move(h)); }
  void on_presence_broadcast(int priority, Hook<PresenceEvent> h) override { host_.presence_broadcast.add(priority, std::move(h)); }
  void on_outgoing(int priority, Hook<StanzaEvent> h) override { host_.outgoing.add(priority, std::move(h)); }
  void on_incoming(int priority, Hook<StanzaEvent> h) override { host_.incoming.add(priority, std::move(h)); }
  void on_undelivered(int priority, Hook<StanzaEvent> h) override { host_.undelivered.add(priority, std::move(h)); }
  void on_account_deleted(int priority, Hook<AccountEvent> h) override { host_.account_deleted.add(priority, std::move(h)); }

  void add_feature(std::string ns) override;
  void add_identity(std::string category, std::string type, std::string name) override;
  void add_stream_feature(StreamFeatureProvider provider) override { host_.stream_features.push_back(std::move(provider)); }
  std::vector<std::string> features() const override { return host_.features; }
  std::vector<Element> identities() const override { return host_.identities; }

  std::vector<Jid> sessions_of(const Jid& bare) const override;
  std::vector<Jid> all_sessions() const override;
  bool is_admin(const Jid& jid) const override;
  void set_available(const Jid& full, bool available, int priority) override;

  storage::StorageThread& storage() override { return storage_; }
  std::optional<std::vector<auth::ScramSecret>> password_secrets(std::string_view password) const override;
  boost::asio::any_io_executor executor() override { return executor_; }
  boost::asio::ssl::context& tls_context() override { return tls_.for_host(host_.domain); }
  void spawn(std::function<boost::asio::awaitable<void>()> task) override;
  void spawn(boost::asio::awaitable<void> task) override;
  void spawn(boost::asio::any_io_executor executor, boost::asio::awaitable<void> task) override;
  void account_deleted(const Jid& bare) override;
  const std::string& data_dir() const override { return data_dir_; }
  std::shared_ptr<void> output_hold() override;
  void on_session_hibernated(int priority, Hook<SessionEvent> h) override { host_.session_hibernated.add(priority, std::move(h)); }
  void on_session_resumed(int priority, Hook<SessionEvent> h) override { host_.session_resumed.add(priority, std::move(h)); }
  void send_iq(Element iq, std::function<void(const Element& reply)> on_reply,
               std::chrono::milliseconds timeout) override;
  void add_account_feature(std::string ns) override;
  std::vector<std::string> account_features() const override { return host_.account_features; }
  void add_account_identity(std::string category, std::string type, std::string name) override;
  std::vector<Element> account_identities() const override { return host_.account_identities; }
  void resubmit(Element stanza) override;
  void add_http_route(std::string path, HttpHandler handler) override;
  std::string http_url() const override;
  void add_delivery_filter(DeliveryFilter filter) override { host_.delivery_filters.push_back(std::move(filter)); }

 private:
  Host& host_;
  router::Router& router_;
  storage::StorageThread& storage_;
  boost::asio::any_io_executor executor_;
  net::TlsContexts& tls_;
  net::http::Server& http_;
  unsigned scram_iterations_;
  std::string data_dir_;
  std::string module_;
  std::string file_;
  std::shared_ptr<const toml::table> settings_;
  std::unique_ptr<ModuleConfig> config_;
};

}  // namespace xmppd::module

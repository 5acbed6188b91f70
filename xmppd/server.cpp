#include "server.hpp"

#include <boost/asio/post.hpp>

#include <sys/resource.h>

#include <chrono>
#include <filesystem>

#include <toml++/toml.h>

#include "auth/sasl_server.hpp"
#include "module/registry.hpp"
#include "common/log.hpp"
#include "net/http/host_meta.hpp"
#include "stream/bosh_endpoint.hpp"
#include "stream/stream_error.hpp"
#include "stream/websocket_endpoint.hpp"

namespace asio = boost::asio;

namespace xmppd {

Server::Server(config::Config config)
    : config_(std::move(config)), throttle_(config_.max_auth_failures, config_.auth_failure_window) {
  std::filesystem::create_directories(config_.data_dir);
  auth::init_sasl(config_.mechanisms);

  std::string db = config_.database_path();
  storage_ = std::make_unique<storage::StorageThread>(storage::open_sqlite(db));
  log::info("storage: SQLite database ", db);
  tls_ = std::make_unique<net::TlsContexts>(config_);

  unsigned n = config_.threads ? config_.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<asio::io_context>(1));

  std::vector<std::string> domains;
  for (const auto& h : config_.hosts) domains.push_back(h.domain);
  router_ = std::make_unique<router::Router>(domains, *storage_, workers_.front()->get_executor());
  std::vector<asio::io_context*> worker_ptrs;
  for (auto& w : workers_) worker_ptrs.push_back(w.get());
  // Before the modules: they may serve HTTP routes.
  http_ = std::make_unique<net::http::Server>(config_, *tls_, *workers_.front(), worker_ptrs);
  start_modules();
  c2s_ = std::make_unique<stream::C2SContext>(
      stream::C2SContext{config_, *tls_, *router_, *storage_, throttle_, registry_, resumable_});

  for (const auto& where : config_.listeners) {
    auto on_accept = [this](asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer, bool direct_tls) {
      std::make_shared<stream::C2SSession>(*c2s_, std::move(socket), peer, direct_tls)->start();
    };
    // Past the open-file limit a plaintext client is told why; a direct-TLS one can only be closed.
    std::string refusal = where.direct_tls ? std::string()
                                           : stream::stream_refusal_bytes("resource-constraint",
                                                                          "the server is at its connection limit");
    listeners_.push_back(
        std::make_unique<net::Listener>(*workers_.front(), where, worker_ptrs, on_accept, std::move(refusal), "c2s",
                                        where.direct_tls ? "direct TLS" : "STARTTLS"));
  }
  add_http_routes();

}

Server::~Server() {
  for (auto& w : workers_) w->stop();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void Server::add_http_routes() {
  if (!http_->listening()) return;
  http_->route("/xmpp-websocket", stream::websocket_endpoint(*c2s_));
  http_->route("/http-bind", stream::bosh_endpoint(*c2s_));
  http_->route("/.well-known/host-meta", net::http::host_meta(false));
  http_->route("/.well-known/host-meta.json", net::http::host_meta(true));
  if (!config_.http.web_client) return;
  std::string root = config_.http.web_client_root;
  if (root.empty()) root = net::http::default_web_client_root();
  try {
    web_client_ = std::make_unique<net::http::WebClient>(root, config_);
    http_->route("/", web_client_->handler());
  } catch (const std::exception& e) {
    log::warn("http: no web chat: ", e.what(), " (tools/build.sh installs it; or set [http] web_client_root)");
  }
}

void Server::start_modules() {
  module::load_configured(config_);
  for (const auto& host : config_.hosts) {
    for (const auto& admin : host.admins)
      if (auto jid = Jid::parse(admin)) router_->host(host.domain)->admins.push_back(jid->bare());
    for (const auto& name : host.modules) {
      ModuleFactory factory = module::find(name);  // load_configured() checked the names
      RunningModule running{
          std::make_unique<module::HostContext>(*router_->host(host.domain), *router_, *storage_,
                                                workers_.front()->get_executor(), *tls_, *http_,
                                                config_.scram_iterations, config_.data_dir,
                                                config_.module_settings,
                                                name, config_.source_path),
          factory()};
      running.module->start(*running.context);
      running.context->config().check_no_unknown_keys();
      modules_.push_back(std::move(running));
      log::debug("module ", name, " started on ", host.domain);
    }
  }
}

void Server::run() {
  for (auto& l : listeners_) l->start();
  http_->start();
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  log::info("xmppd ready: ", config_.hosts.size(), " host(s), ", workers_.size(),
            " worker thread(s), open-file limit ", files.rlim_cur,
            " (at most about that many connections)");
  if (web_client_) log::info("web chat: open ", http_->local_url(), " in a browser");
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : workers_) guards.push_back(asio::make_work_guard(*w));
  for (std::size_t i = 1; i < workers_.size(); ++i) threads_.emplace_back([w = workers_[i].get()] { w->run(); });
  workers_.front()->run();
  for (auto& t : threads_) t.join();
  threads_.clear();
  storage_->stop();  // every queued write reaches the database before exit
  log::info("xmppd stopped");
}

void Server::reload() {
  asio::post(*workers_.front(), [this] {
    if (config_.source_path.empty() || config_.source_path.front() == '(') {
      log::warn("reload: the server runs on built-in defaults; there is no file to reload");
      return;
    }
    config::Config fresh;
    try {
      fresh = config::load(config_.source_path);
    } catch (const config::ConfigError& e) {
      log::error("reload: configuration error; keeping the running configuration:\n", e.what());
      return;
    }
    log::Level level = log::Level::info;
    log::parse_level(fresh.log_level, level);
    log::set_level(level);
    try {
      tls_->reload(fresh);
      log::info("reload: certificates loaded");
    } catch (const std::exception& e) {
      log::error("reload: ", e.what(), "; keeping the current certificates");
    }
    for (auto& m : modules_) {
      if (!m.context->replace_settings(fresh.module_settings)) continue;
      const std::string& name = m.context->module_name();
      try {
        if (m.module->reload()) {
          m.context->config().check_no_unknown_keys();
          log::info("reload: module ", name, " on ", m.context->host(), " uses its new settings");
        } else {
          log::warn("reload: module ", name, " cannot change its settings while running; they apply at the next restart");
        }
      } catch (const std::exception& e) {
        log::error("reload: module ", name, ": ", e.what());
      }
    }
    log::info("reload done (listeners, hosts, [c2s], [auth] and module lists apply at the next restart)");
  });
}

void Server::shutdown() {
  asio::post(*workers_.front(), [this] {
    log::info("shutting down: closing ", registry_.size(), " stream(s)");
    for (auto& l : listeners_) l->stop();
    http_->stop();
    for (auto& m : modules_) m.module->stop();  // their farewells go out before the streams end
    for (auto& s : registry_.all())
      asio::post(s->executor(), [s] { s->stream_error("system-shutdown"); });
    // Give the streams a moment to flush their last bytes, then stop every worker.
    auto timer = std::make_shared<asio::steady_timer>(*workers_.front(), std::chrono::milliseconds(300));
    timer->async_wait([this, timer](auto) {
      for (auto& w : workers_) w->stop();
    });
  });
}

}  // namespace xmppd

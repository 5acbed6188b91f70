// The running server: worker threads, storage thread, listeners, router, sessions.
#pragma once

#include <boost/asio/io_context.hpp>

#include <memory>
#include <thread>
#include <vector>

#include "auth/auth_throttle.hpp"
#include "config/config.hpp"
#include "module/host_context.hpp"
#include "net/http/http_server.hpp"
#include "net/http/web_client.hpp"
#include "net/listener.hpp"
#include "net/tls.hpp"
#include "router/router.hpp"
#include "storage/storage_thread.hpp"
#include "stream/c2s_session.hpp"
#include "stream/resumption_table.hpp"
#include "stream/session_registry.hpp"

namespace xmppd {

class Server {
 public:
  // Opens storage, loads certificates, binds the listeners. Throws std::runtime_error with
  // a message for the admin when something is wrong.
  explicit Server(config::Config config);
  ~Server();

  // Serves until shutdown() is called (from any thread).
  void run();
  // Ends every stream with <system-shutdown/>, waits briefly for them to flush, stops.
  void shutdown();
  // Reads the config file again (SIGHUP; from any thread) and applies, without dropping a
  // session: the log level, the TLS certificates, and module settings of modules that
  // support reloading. A file with errors changes nothing. Other settings need a restart.
  void reload();

 private:
  void start_modules();
  void add_http_routes();

  config::Config config_;
  std::vector<std::unique_ptr<boost::asio::io_context>> workers_;
  std::vector<std::thread> threads_;
  std::unique_ptr<storage::StorageThread> storage_;
  std::unique_ptr<net::TlsContexts> tls_;
  std::unique_ptr<router::Router> router_;
  auth::AuthThrottle throttle_;
  stream::SessionRegistry registry_;
  stream::ResumptionTable resumable_;
  std::unique_ptr<stream::C2SContext> c2s_;
  std::vector<std::unique_ptr<net::Listener>> listeners_;
  std::unique_ptr<net::http::Server> http_;
  std::unique_ptr<net::http::WebClient> web_client_;
  struct RunningModule {
    std::unique_ptr<module::HostContext> context;
    std::unique_ptr<Module> module;
  };
  std::vector<RunningModule> modules_;
};

}  // namespace xmppd

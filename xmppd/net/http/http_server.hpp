// The server's one HTTP layer: HTTP and HTTPS listeners from [[http.listen]], and the
// routes served on them (the WebSocket endpoint, host-meta, the web chat, ...). Connections
// live on the worker threads like client streams, so a WebSocket upgrade stays where it is.
#pragma once

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "net/http/http_message.hpp"
#include "net/listener.hpp"

namespace xmppd::net {
class TlsContexts;
}

namespace xmppd::net::http {

class Server {
 public:
  // Binds the listeners now (a taken port fails at start). Throws std::runtime_error.
  Server(const config::Config& config, TlsContexts& tls, boost::asio::io_context& acceptors,
         std::vector<boost::asio::io_context*> workers);
  ~Server();

  // Serves `path` exactly, or every path below it when it ends with '/'. The longest match
  // wins. Add routes before start(). Throws std::runtime_error if the path is taken.
  void route(std::string path, Handler handler);
  void start();
  void stop();
  bool listening() const { return !listeners_.empty(); }
  // Where a browser on this machine reaches the first listener ("http://localhost:5280/").
  std::string local_url() const;
  // How clients reach `host` here: the first HTTPS listener ("https://host:5281"), else
  // the first plain one; empty without listeners.
  std::string url_for(const std::string& host) const;

 private:
  friend class Connection;
  // What a client refused for lack of room is told, where it can be (plain HTTP).
  static constexpr std::string_view kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\nRetry-After: 10\r\n\r\n";

  const Handler* find(std::string_view path) const;
  bool trusted(const std::string& address) const;
  bool origin_allowed(std::string_view origin) const;

  const config::Http& settings_;
  TlsContexts& tls_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::vector<bool> listener_tls_;
  std::vector<boost::asio::ip::address> trusted_;
  std::vector<std::pair<std::string, Handler>> routes_;
  // Connections being served as HTTP (not upgraded). Shared with them: at shutdown the
  // last ones are destroyed with the worker threads' queues, after this server.
  std::shared_ptr<std::atomic<unsigned>> open_ = std::make_shared<std::atomic<unsigned>>(0);
};

}  // namespace xmppd::net::http

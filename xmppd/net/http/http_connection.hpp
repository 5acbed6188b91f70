// One HTTP/1.1 connection: requests one after another (keep-alive), each answered by its
// route, until the client closes, an error, the idle timeout, or an upgrade hands the
// connection to another protocol. Parsing is Beast's request parser, fed from the same
// Transport as client streams (so HTTPS costs what TLS on a stream costs).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <string>

#include "net/http/http_message.hpp"
#include "net/transport.hpp"

namespace xmppd::net::http {

class Server;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Server& server, Transport transport, bool tls);
  ~Connection();

  void start();

 private:
  boost::asio::awaitable<void> run();
  // Reads the next request into `request`; false if the connection is to close (the client
  // closed, or sent something that was answered with an error).
  boost::asio::awaitable<bool> read_request(Request& request);
  // Who the client is and how it reached us, from the connection and a trusted proxy's word.
  void describe_client(Request& request) const;
  Response answer_preflight(const Request& request) const;
  boost::asio::awaitable<void> write(const Request& request, const Response& response, bool keep_alive);
  void arm_deadline();

  Server& server_;
  Transport transport_;
  bool tls_;
  bool counted_ = true;  // in the server's count of HTTP connections
  std::string buffered_;  // read and not yet parsed (the next pipelined request, say)
  boost::asio::steady_timer deadline_;
};

}  // namespace xmppd::net::http

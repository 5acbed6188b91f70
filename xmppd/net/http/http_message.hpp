// What an HTTP route sees and answers: one request, read whole (bounded by [http]
// max_body_bytes), and one response, or the hand-over of the connection (WebSocket).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/transport.hpp"

namespace xmppd::net::http {

struct Request {
  boost::beast::http::request<boost::beast::http::string_body> message;
  std::string remote_address;  // the client (behind a trusted proxy: as the proxy names it)
  bool tls = false;            // TLS on this connection
  bool https = false;          // the client's URL is https: (TLS here, or at a trusted proxy)
  bool secure = false;         // encrypted, or from a trusted address (this machine, say)
  bool trusted = false;        // from a trusted proxy's address
  bool origin_allowed = true;  // no Origin header, or one [http] allowed_origins lists

  std::string_view path() const;   // the target without its query
  std::string_view query() const;  // after '?', or empty
  std::string_view header(boost::beast::http::field name) const;
  std::string_view header(std::string_view name) const;
};

struct Response {
  unsigned status = 200;
  std::string content_type;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // For 101 Switching Protocols: once the response is written, the connection and the bytes
  // the client sent past its request go here.
  std::function<void(Transport transport, std::string early_input)> upgrade;

  // A short plain-text answer (errors, mostly).
  static Response text(unsigned status, std::string_view message);
};

// Runs on the connection's network thread; must not block.
using Handler = std::function<boost::asio::awaitable<Response>(Request& request)>;

}  // namespace xmppd::net::http

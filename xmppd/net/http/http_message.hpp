// What the core's HTTP routes see: the request's header and who sent it, and an answer
// given whole, or the hand-over of the connection (WebSocket). Module routes get the same
// exchange through its public face (<xmppd/http.hpp>).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <xmppd/http.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/transport.hpp"

namespace xmppd::net::http {

struct Request {
  boost::beast::http::request<boost::beast::http::empty_body> message;  // the header
  std::string remote_address;  // the client (behind a trusted proxy: as the proxy names it)
  bool tls = false;            // TLS on this connection
  bool https = false;          // the client's URL is https: (TLS here, or at a trusted proxy)
  bool secure = false;         // encrypted, or from a trusted address (this machine, say)
  bool origin_allowed = true;  // no Origin header, or one [http] allowed_origins lists

  std::string_view path() const;   // the target without its query
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

// One request being answered. Runs on the connection's network thread; must not block.
class Exchange : public HttpExchange {
 public:
  virtual const Request& request() const = 0;
  // Answers with `response` (whole), or hands the connection over (101 with `upgrade`).
  virtual boost::asio::awaitable<void> answer(Response& response) = 0;
};

using Handler = std::function<boost::asio::awaitable<void>(Exchange& exchange)>;
// A route whose answer needs only the request's header.
using SimpleHandler = std::function<Response(const Request& request)>;
Handler simple(SimpleHandler handler);

}  // namespace xmppd::net::http

// What a module's HTTP route sees (ModuleContext::add_http_route): one request on the
// server's HTTP layer, its body read in pieces, its answer written whole or in pieces.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xmppd {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

// Every call runs on the connection's network thread (executor()): a route that touches the
// disk or a database runs that work elsewhere between calls (co_spawn on its own executor),
// never here. The server adds Server, Connection and CORS headers itself.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;

  virtual std::string_view method() const = 0;  // "GET", "PUT", ...
  virtual std::string_view target() const = 0;  // the path and query, as sent
  virtual std::string_view header(std::string_view name) const = 0;  // "" if absent
  // The declared body size (nullopt: none declared, or chunked).
  virtual std::optional<std::uint64_t> content_length() const = 0;
  virtual const std::string& remote_address() const = 0;
  virtual boost::asio::any_io_executor executor() const = 0;

  // The next piece of the body, at most `max` bytes; empty once it has all been read.
  // Valid until the next call. A client that sent "Expect: 100-continue" is told to go on
  // at the first call. Throws if the connection breaks.
  virtual boost::asio::awaitable<std::string_view> read_body(std::size_t max) = 0;

  // A whole answer (Content-Length from `body`). Arguments are taken by reference: pass
  // named objects, not temporaries (GCC 12 destroys temporaries of a co_await twice).
  virtual boost::asio::awaitable<void> respond(unsigned status, const HttpHeaders& headers, std::string_view body) = 0;
  // A streamed answer: the head (with the Content-Length the body will have), then the
  // body in pieces. A HEAD request gets the head only, whatever is written after it.
  virtual boost::asio::awaitable<void> respond_head(unsigned status, const HttpHeaders& headers) = 0;
  virtual boost::asio::awaitable<void> respond_body(std::string_view piece) = 0;
  // The connection is not reused after this request (its state is in doubt).
  virtual void close_after() = 0;
};

using HttpHandler = std::function<boost::asio::awaitable<void>(HttpExchange& exchange)>;

}  // namespace xmppd

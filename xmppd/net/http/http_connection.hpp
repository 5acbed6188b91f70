// One HTTP/1.1 connection: requests one after another (keep-alive), each answered by its
// route, until the client closes, an error, the idle timeout, or an upgrade hands the
// connection to another protocol. Parsing is Beast's request parser, fed from the same
// Transport as client streams (so HTTPS costs what TLS on a stream costs). The connection is
// the Exchange of the request it is serving.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "net/http/http_message.hpp"
#include "net/transport.hpp"

namespace xmppd::net::http {

class Server;

class Connection final : public std::enable_shared_from_this<Connection>, public Exchange {
 public:
  Connection(Server& server, Transport transport, bool tls);
  ~Connection() override;

  void start();

  // Exchange
  const Request& request() const override { return request_; }
  boost::asio::awaitable<void> answer(Response& response) override;
  std::string_view method() const override { return request_.message.method_string(); }
  std::string_view target() const override { return request_.message.target(); }
  std::string_view header(std::string_view name) const override { return request_.header(name); }
  std::optional<std::uint64_t> content_length() const override;
  const std::string& remote_address() const override { return request_.remote_address; }
  boost::asio::any_io_executor executor() const override { return executor_; }
  boost::asio::awaitable<std::string_view> read_body(std::size_t max) override;
  boost::asio::awaitable<void> respond(unsigned status, const HttpHeaders& headers, std::string_view body) override;
  boost::asio::awaitable<void> respond_head(unsigned status, const HttpHeaders& headers) override;
  boost::asio::awaitable<void> respond_body(std::string_view piece) override;
  void close_after() override { reusable_ = false; }

 private:
  using Parser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

  boost::asio::awaitable<void> run();
  // Reads the next request's header; false if the connection is to close (the client
  // closed, or sent something that was answered with an error).
  boost::asio::awaitable<bool> read_header();
  // Who the client is and how it reached us, from the connection and a trusted proxy's word.
  void describe_client();
  Response preflight() const;
  // The status line and headers, ours included (Content-Length: `length` if given).
  std::string head(unsigned status, const HttpHeaders& headers, std::optional<std::size_t> length) const;
  // What the route left unread, read and dropped if small; false if the connection cannot
  // be reused.
  boost::asio::awaitable<bool> finish_body();
  bool body_can_be_finished() const;
  void arm_deadline();

  Server& server_;
  Transport transport_;
  bool tls_;
  std::shared_ptr<std::atomic<unsigned>> open_;  // the server's count of HTTP connections
  bool counted_ = true;  // in that count
  std::string buffered_;  // read and not yet parsed (the next pipelined request, say)
  boost::asio::any_io_executor executor_;
  boost::asio::steady_timer deadline_;

  // The request being served.
  std::optional<Parser> parser_;
  Request request_;
  std::string body_piece_;
  bool continued_ = false;  // "100 Continue" sent
  bool responded_ = false;
  bool reusable_ = true;
  std::function<void(Transport, std::string)> upgrade_;
};

}  // namespace xmppd::net::http

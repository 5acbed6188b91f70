// A client connection's byte pipe: plain TCP, upgraded to TLS in place (STARTTLS) or from
// the first byte (direct TLS).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace xmppd::net {

class Transport {
 public:
  using tcp = boost::asio::ip::tcp;

  explicit Transport(tcp::socket socket);

  // Becomes the TLS server side of the connection and completes the handshake.
  boost::asio::awaitable<void> start_tls(boost::asio::ssl::context& ctx);
  bool secure() const { return tls_ != nullptr; }

  // Waits for data and returns it; empty at end of stream. The view stays valid until the
  // caller next suspends (plain reads share one buffer per thread: idle sessions hold none).
  boost::asio::awaitable<std::string_view> read();

  // Writes all of `data` (which must stay alive until `handler(error_code, size_t)` runs).
  template <class Handler>
  void async_write(std::string_view data, Handler&& handler) {
    auto buffer = boost::asio::buffer(data.data(), data.size());
    if (tls_) boost::asio::async_write(*tls_, buffer, std::forward<Handler>(handler));
    else boost::asio::async_write(socket_, buffer, std::forward<Handler>(handler));
  }

  void close();
  // TLS: sends close_notify first and closes once the peer answers or `patience` passes.
  // `keep_alive` (e.g. the owner's shared_ptr) is held until then.
  template <class KeepAlive>
  void close_gracefully(KeepAlive keep_alive, std::chrono::milliseconds patience = std::chrono::seconds(2)) {
    if (!tls_ || !socket_.is_open()) return close();
    auto timer = std::make_shared<boost::asio::steady_timer>(socket_.get_executor(), patience);
    timer->async_wait([this, timer, keep_alive](boost::system::error_code ec) {
      if (!ec) close();
    });
    tls_->async_shutdown([this, timer, keep_alive](boost::system::error_code) {
      timer->cancel();
      close();
    });
  }
  bool is_open() const { return socket_.is_open(); }
  tcp::socket& socket() { return socket_; }
  const std::string& remote_address() const { return remote_address_; }

 private:
  tcp::socket socket_;
  std::unique_ptr<boost::asio::ssl::stream<tcp::socket&>> tls_;
  std::unique_ptr<char[]> tls_buffer_;  // decrypted bytes land here
  std::string remote_address_;
};

}  // namespace xmppd::net

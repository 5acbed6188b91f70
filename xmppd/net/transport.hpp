// A client connection's byte pipe: plain TCP, upgraded to TLS in place (STARTTLS) or from
// the first byte (direct TLS).
//
// TLS runs OpenSSL directly on the non-blocking socket instead of asio::ssl::stream, whose
// engine keeps four 17 KB buffers per connection for its whole life. Here decrypted bytes
// land in a per-thread buffer (like plain reads) and, with SSL_MODE_RELEASE_BUFFERS, OpenSSL
// holds record buffers only while data is in flight: an idle TLS session costs its SSL
// object, not ~90 KB.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace xmppd::net {

class Transport {
 public:
  using tcp = boost::asio::ip::tcp;
  using WriteHandler = std::function<void(boost::system::error_code, std::size_t)>;

  // `peer`: the address accept returned. TCP_NODELAY comes from the listening socket.
  Transport(tcp::socket socket, const tcp::endpoint& peer);

  // Becomes the TLS server side of the connection and completes the handshake.
  boost::asio::awaitable<void> start_tls(boost::asio::ssl::context& ctx);
  bool secure() const { return ssl_ != nullptr; }

  // Waits for data and returns it; empty at end of stream. The view stays valid until the
  // caller next suspends (reads share one buffer per thread: idle sessions hold none).
  boost::asio::awaitable<std::string_view> read();

  // Writes all of `data` (which must stay alive until `handler(error_code, size_t)` runs).
  template <class Handler>
  void async_write(std::string_view data, Handler&& handler) {
    if (ssl_) return tls_write(data, 0, WriteHandler(std::forward<Handler>(handler)));
    boost::asio::async_write(socket_, boost::asio::buffer(data.data(), data.size()), std::forward<Handler>(handler));
  }

  // Writes all of `data` (alive until it returns); throws on a write error.
  boost::asio::awaitable<void> write(std::string_view data);

  void close();
  // Closes and frees the TLS state too (a session kept without its connection).
  void discard() {
    close();
    ssl_.reset();
  }
  // TLS: sends close_notify first and closes once the peer answers or `patience` passes.
  // `keep_alive` (e.g. the owner's shared_ptr) is held until then.
  template <class KeepAlive>
  void close_gracefully(KeepAlive keep_alive, std::chrono::milliseconds patience = std::chrono::seconds(2)) {
    if (!ssl_ || !socket_.is_open()) return close();
    send_close_notify();
    auto timer = std::make_shared<boost::asio::steady_timer>(socket_.get_executor(), patience);
    timer->async_wait([this, timer, keep_alive](boost::system::error_code ec) {
      if (!ec) close();
    });
    socket_.async_wait(tcp::socket::wait_read, [this, timer, keep_alive](boost::system::error_code) {
      timer->cancel();
      close();
    });
  }
  bool is_open() const { return socket_.is_open(); }
  tcp::socket& socket() { return socket_; }
  const std::string& remote_address() const { return remote_address_; }
  // The client behind a trusted proxy, as the proxy names it.
  void set_remote_address(std::string address) { remote_address_ = std::move(address); }

 private:
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };

  // Writes data[done..] through TLS, waiting for the socket as OpenSSL asks; then `handler`.
  void tls_write(std::string_view data, std::size_t done, WriteHandler handler);
  void send_close_notify();

  tcp::socket socket_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::string remote_address_;
};

}  // namespace xmppd::net

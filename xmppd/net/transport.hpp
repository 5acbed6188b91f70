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

#include "net/connection.hpp"

namespace xmppd::net {

class Transport final : public Connection {
 public:
  using tcp = boost::asio::ip::tcp;

  // `peer`: the address accept returned. TCP_NODELAY comes from the listening socket.
  Transport(tcp::socket socket, const tcp::endpoint& peer);

  Transport(Transport&&) = default;

  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  // Becomes the TLS server side of the connection and completes the handshake.
  boost::asio::awaitable<void> start_tls(boost::asio::ssl::context& ctx) override;
  // TLS here, or at a TLS-terminating proxy the config trusts (set_encrypted_elsewhere).
  bool secure() const override { return ssl_ != nullptr || encrypted_elsewhere_; }

  // Reads share one buffer per thread: idle sessions hold none.
  boost::asio::awaitable<std::string_view> read() override;

  void async_write(std::string_view data, WriteHandler handler) override {
    if (ssl_) return tls_write(data, 0, std::move(handler));
    boost::asio::async_write(socket_, boost::asio::buffer(data.data(), data.size()), std::move(handler));
  }

  // Writes all of `data` (alive until it returns); throws on a write error.
  boost::asio::awaitable<void> write(std::string_view data);

  void close() override;
  // Closes and frees the TLS state too.
  void discard() override {
    close();
    ssl_.reset();
  }
  // TLS: sends close_notify first and closes once the peer answers or two seconds pass.
  void close_gracefully(std::shared_ptr<void> keep_alive) override {
    const auto patience = std::chrono::seconds(2);
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
  bool is_open() const override { return socket_.is_open(); }
  tcp::socket& socket() { return socket_; }
  const std::string& remote_address() const override { return remote_address_; }
  // A connection from a trusted proxy (or this machine): it counts as encrypted, and its
  // client is the one the proxy names.
  void set_encrypted_elsewhere(std::string client_address) {
    encrypted_elsewhere_ = true;
    remote_address_ = std::move(client_address);
  }

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
  bool encrypted_elsewhere_ = false;
};

}  // namespace xmppd::net

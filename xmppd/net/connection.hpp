// What a client stream is carried on: a socket (Transport: TCP, TLS), or a session of HTTP
// requests (BOSH). The c2s session reads bytes from it and writes bytes to it; the framing
// (stream/framing.hpp) makes stanzas of those bytes.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace xmppd::net {

class Connection {
 public:
  using WriteHandler = std::function<void(boost::system::error_code, std::size_t)>;

  virtual ~Connection() = default;

  // Where the connection's work runs (the session's network thread).
  virtual boost::asio::any_io_executor executor() = 0;
  // Waits for data and returns it; empty at end of stream. The view stays valid until the
  // caller next suspends.
  virtual boost::asio::awaitable<std::string_view> read() = 0;
  // Writes all of `data` (which must stay alive until `handler` runs, never from inside this
  // call).
  virtual void async_write(std::string_view data, WriteHandler handler) = 0;
  // Becomes the TLS server side of the connection (STARTTLS, direct TLS); only where the
  // framing says TLS can upgrade it.
  virtual boost::asio::awaitable<void> start_tls(boost::asio::ssl::context& ctx) = 0;
  virtual bool secure() const = 0;
  virtual bool is_open() const = 0;
  virtual const std::string& remote_address() const = 0;

  virtual void close() = 0;
  // Closes and frees what the connection holds (a session kept without its connection).
  virtual void discard() = 0;
  // Closes once what was written has left, as politely as the connection allows (a TLS
  // close_notify); `keep_alive` (e.g. the owner's shared_ptr) is held until then.
  virtual void close_gracefully(std::shared_ptr<void> keep_alive) = 0;
};

}  // namespace xmppd::net

#include "net/transport.hpp"

#include <openssl/err.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <string>

namespace asio = boost::asio;

namespace xmppd::net {
namespace {

constexpr std::size_t kReadSize = 16 * 1024;
// Decrypted and plain reads land here; the caller consumes them before it next suspends.
thread_local char read_buffer[kReadSize];

// What OpenSSL wants before the call can be retried, or the error that ended it.
enum class Want { read, write, eof, error };

Want classify(SSL* ssl, int result) {
  switch (SSL_get_error(ssl, result)) {
    case SSL_ERROR_WANT_READ: return Want::read;
    case SSL_ERROR_WANT_WRITE: return Want::write;
    case SSL_ERROR_ZERO_RETURN: return Want::eof;  // the peer's close_notify
    case SSL_ERROR_SYSCALL:  // end of file without close_notify, or a socket error
      return ERR_peek_error() == 0 && result == 0 ? Want::eof : Want::error;
    default: return Want::error;
  }
}

boost::system::system_error tls_error(const char* what) {
  char detail[256];
  ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
  ERR_clear_error();
  return boost::system::system_error(asio::error::make_error_code(asio::error::connection_reset),
                                     std::string(what) + ": " + detail);
}

}  // namespace

Transport::Transport(tcp::socket socket, const tcp::endpoint& peer)
    : socket_(std::move(socket)), remote_address_(peer.address().to_string()) {
  boost::system::error_code ec;
  socket_.non_blocking(true, ec);  // reads and TLS happen only once the socket is ready
}

asio::awaitable<void> Transport::start_tls(asio::ssl::context& ctx) {
  ssl_.reset(SSL_new(ctx.native_handle()));
  if (!ssl_ || SSL_set_fd(ssl_.get(), socket_.native_handle()) != 1) throw tls_error("TLS setup");
  // Partial and moving writes: a write resumes from where the socket stopped taking bytes.
  // Read-ahead: one recv fetches several records. Release: no buffers while idle.
  SSL_set_mode(ssl_.get(),
               SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
  SSL_set_read_ahead(ssl_.get(), 1);
  SSL_set_accept_state(ssl_.get());
  for (int rounds = 0;; ++rounds) {
    ERR_clear_error();
    const int r = SSL_do_handshake(ssl_.get());
    if (r == 1) co_return;
    const Want want = classify(ssl_.get(), r);
    if (want == Want::read && rounds < 1000) co_await socket_.async_wait(tcp::socket::wait_read, asio::use_awaitable);
    else if (want == Want::write && rounds < 1000) co_await socket_.async_wait(tcp::socket::wait_write, asio::use_awaitable);
    else throw tls_error("TLS handshake");
  }
}

asio::awaitable<std::string_view> Transport::read() {
  for (;;) {
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_read(ssl_.get(), read_buffer, int(kReadSize));
      if (n > 0) {
        // Records already read ahead are handed over together: fewer, larger batches.
        std::size_t filled = std::size_t(n);
        while (filled < kReadSize && SSL_pending(ssl_.get()) > 0) {
          const int more = SSL_read(ssl_.get(), read_buffer + filled, int(kReadSize - filled));
          if (more <= 0) break;
          filled += std::size_t(more);
        }
        co_return std::string_view(read_buffer, filled);
      }
      switch (classify(ssl_.get(), n)) {
        case Want::read: co_await socket_.async_wait(tcp::socket::wait_read, asio::use_awaitable); continue;
        case Want::write: co_await socket_.async_wait(tcp::socket::wait_write, asio::use_awaitable); continue;
        case Want::eof: co_return std::string_view();
        case Want::error: throw tls_error("TLS read");
      }
    }
    // Plain: wait for readability, then read.
    co_await socket_.async_wait(tcp::socket::wait_read, asio::use_awaitable);
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(read_buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec == asio::error::eof) co_return std::string_view();
    if (ec) throw boost::system::system_error(ec);
    co_return std::string_view(read_buffer, n);
  }
}

void Transport::tls_write(std::string_view data, std::size_t done, WriteHandler handler) {
  auto finish = [&](boost::system::error_code ec) {
    // Never from inside the initiating call: the owner may start its next write from here.
    asio::post(socket_.get_executor(), [handler = std::move(handler), ec, done] { handler(ec, done); });
  };
  while (done < data.size()) {
    if (!socket_.is_open()) return finish(asio::error::bad_descriptor);
    ERR_clear_error();
    const int n = SSL_write(ssl_.get(), data.data() + done, int(std::min<std::size_t>(data.size() - done, 1 << 30)));
    if (n > 0) {
      done += std::size_t(n);
      continue;
    }
    const Want want = classify(ssl_.get(), n);
    if (want != Want::read && want != Want::write) {
      ERR_clear_error();
      return finish(asio::error::connection_reset);
    }
    socket_.async_wait(want == Want::read ? tcp::socket::wait_read : tcp::socket::wait_write,
                       [this, data, done, handler = std::move(handler)](boost::system::error_code ec) mutable {
                         if (ec) return handler(ec, done);
                         tls_write(data, done, std::move(handler));
                       });
    return;
  }
  finish({});
}

asio::awaitable<void> Transport::write(std::string_view data) {
  auto initiate = [this, data](auto handler) {
    // WriteHandler must be copyable; the coroutine's handler is not.
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    async_write(data, [shared](boost::system::error_code ec, std::size_t n) { (*shared)(ec, n); });
  };
  auto token = asio::as_tuple(asio::use_awaitable);
  auto [ec, n] = co_await asio::async_initiate<decltype(token), void(boost::system::error_code, std::size_t)>(
      std::move(initiate), token);
  if (ec) throw boost::system::system_error(ec);
}

void Transport::send_close_notify() {
  ERR_clear_error();
  SSL_shutdown(ssl_.get());  // non-blocking: sent if the socket takes it, else given up
  ERR_clear_error();
}

void Transport::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace xmppd::net

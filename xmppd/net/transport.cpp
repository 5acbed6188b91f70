#include "net/transport.hpp"

#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

namespace xmppd::net {
namespace {
constexpr std::size_t kReadSize = 16 * 1024;
}

Transport::Transport(tcp::socket socket) : socket_(std::move(socket)) {
  boost::system::error_code ec;
  auto endpoint = socket_.remote_endpoint(ec);
  remote_address_ = ec ? "?" : endpoint.address().to_string();
  socket_.set_option(tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);  // plain reads happen only once the socket is readable
}

asio::awaitable<void> Transport::start_tls(asio::ssl::context& ctx) {
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(socket_, ctx);
  tls_buffer_ = std::make_unique<char[]>(kReadSize);
  co_await tls_->async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
}

asio::awaitable<std::string_view> Transport::read() {
  if (tls_) {
    std::size_t n = co_await tls_->async_read_some(asio::buffer(tls_buffer_.get(), kReadSize),
                                                   asio::use_awaitable);
    co_return std::string_view(tls_buffer_.get(), n);
  }
  // Wait for readability, then read into this thread's buffer.
  thread_local char buffer[kReadSize];
  for (;;) {
    co_await socket_.async_wait(tcp::socket::wait_read, asio::use_awaitable);
    boost::system::error_code ec;
    std::size_t n = socket_.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) continue;
    if (ec == asio::error::eof) co_return std::string_view();
    if (ec) throw boost::system::system_error(ec);
    co_return std::string_view(buffer, n);
  }
}

void Transport::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace xmppd::net

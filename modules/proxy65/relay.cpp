#include "relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <vector>

#include "token_bucket.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace proxy65 {

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// One direction. On the sender's EOF the receiver gets EOF too; on an error both sockets
// close, which ends the other direction as well.
asio::awaitable<std::uint64_t> pump(tcp::socket& from, tcp::socket& to, std::uint64_t bytes_per_second) {
  TokenBucket bucket(bytes_per_second);
  asio::steady_timer pause(from.get_executor());
  std::vector<char> buffer(16 * 1024);
  std::uint64_t total = 0;
  boost::system::error_code ignored;
  for (;;) {
    auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), kAsTuple);
    if (read_error == asio::error::eof) {
      to.shutdown(tcp::socket::shutdown_send, ignored);
      co_return total;
    }
    if (read_error) break;
    if (auto wait = bucket.take(n); wait > wait.zero()) {
      pause.expires_after(wait);
      co_await pause.async_wait(kAsTuple);
    }
    auto [write_error, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), kAsTuple);
    if (write_error) break;
    total += n;
  }
  from.close(ignored);
  to.close(ignored);
  co_return total;
}

}  // namespace

asio::awaitable<std::uint64_t> relay(tcp::socket& a, tcp::socket& b, std::uint64_t bytes_per_second) {
  using namespace asio::experimental::awaitable_operators;
  auto [ab, ba] = co_await (pump(a, b, bytes_per_second) && pump(b, a, bytes_per_second));
  co_return ab + ba;
}

}  // namespace proxy65

#include "relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <vector>

#include "token_bucket.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace proxy65 {

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

// What both directions share: when a byte last moved, and how many did.
struct Activity {
  std::chrono::steady_clock::time_point last = std::chrono::steady_clock::now();
  std::uint64_t bytes = 0;
};

// One direction. On the sender's EOF the receiver gets EOF too; on an error both sockets
// close, which ends the other direction as well.
asio::awaitable<void> pump(tcp::socket& from, tcp::socket& to, std::uint64_t bytes_per_second, Activity& activity) {
  TokenBucket bucket(bytes_per_second);
  asio::steady_timer pause(from.get_executor());
  std::vector<char> buffer(16 * 1024);
  boost::system::error_code ignored;
  for (;;) {
    auto [read_error, n] = co_await from.async_read_some(asio::buffer(buffer), kAsTuple);
    if (read_error == asio::error::eof) {
      to.shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    if (read_error) break;
    if (auto wait = bucket.take(n); wait > wait.zero()) {
      pause.expires_after(wait);
      co_await pause.async_wait(kAsTuple);
    }
    auto [write_error, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), kAsTuple);
    if (write_error) break;
    activity.bytes += n;
    activity.last = std::chrono::steady_clock::now();
  }
  from.close(ignored);
  to.close(ignored);
}

// Returns once nothing has moved for `idle` (a stream both parties abandoned open).
asio::awaitable<void> idle_watch(Activity& activity, std::chrono::seconds idle) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    auto deadline = activity.last + idle;
    if (std::chrono::steady_clock::now() >= deadline) co_return;
    timer.expires_at(deadline);
    auto [ec] = co_await timer.async_wait(kAsTuple);
    if (ec) co_return;  // cancelled: the relay ended
  }
}

}  // namespace

asio::awaitable<std::uint64_t> relay(tcp::socket& a, tcp::socket& b, std::uint64_t bytes_per_second,
                                     std::chrono::seconds idle_timeout) {
  using namespace asio::experimental::awaitable_operators;
  Activity activity;
  // Both directions to their end, unless the stream stays idle too long: then the pumps are
  // cancelled and the sockets closed.
  co_await ((pump(a, b, bytes_per_second, activity) && pump(b, a, bytes_per_second, activity)) ||
            idle_watch(activity, idle_timeout));
  boost::system::error_code ignored;
  a.close(ignored);
  b.close(ignored);
  co_return activity.bytes;
}

}  // namespace proxy65

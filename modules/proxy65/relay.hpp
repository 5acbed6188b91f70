// The bytestream itself: what one side sends, the other receives, in both directions, at most
// `bytes_per_second` each way. A side that finishes sending (EOF) is passed on as EOF to the
// other; the relay ends when both directions have ended, either fails, or nothing has moved
// for `idle_timeout`.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>

namespace proxy65 {

// Returns the bytes relayed (both directions).
boost::asio::awaitable<std::uint64_t> relay(boost::asio::ip::tcp::socket& a, boost::asio::ip::tcp::socket& b,
                                            std::uint64_t bytes_per_second, std::chrono::seconds idle_timeout);

}  // namespace proxy65

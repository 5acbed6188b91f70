// The SOCKS5 side of XEP-0065 (RFC 1928 subset): a client connects without authentication
// and asks to CONNECT to a "domain name" that is SHA1(SID + requester JID + target JID).
// The target connects first, the requester second; the pair waits, unrelayed, until the
// requester activates it over XMPP, then the relay runs. A connection that is not activated
// within the pairing timeout is closed.
//
// Runs on an io_context and thread of its own, so that relaying files never competes with
// XMPP traffic on the network threads; all its state lives on that thread, without locks.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace proxy65 {

struct ProxyLimits {
  std::uint64_t bytes_per_second = 0;   // per stream and direction; 0: unlimited
  std::size_t max_connections = 1000;   // SOCKS5 connections open at once, all users
  std::size_t max_streams_per_user = 10;  // active streams one requester (bare JID) may have
  std::chrono::seconds pair_timeout{60};  // from connecting to activation
  std::chrono::seconds idle_timeout{300};  // an active stream with no byte moving is closed
};

class Socks5Server {
 public:
  enum class Activation { activated, no_pair, too_many_streams };

  explicit Socks5Server(ProxyLimits limits);
  ~Socks5Server();

  // Binds the listener; returns where it listens (port 0: the one the OS chose). Throws.
  boost::asio::ip::tcp::endpoint listen(const std::string& address, unsigned short port);
  void start();
  // Closes the listener and every connection.
  void stop();

  // Starts relaying the pair connected under `hash` for `requester` (a bare JID, counted
  // against its stream limit). Callable from any thread; `done` runs on the proxy's thread.
  void activate(std::string hash, std::string requester, std::function<void(Activation)> done);

 private:
  struct Connection;
  struct Pair {
    std::shared_ptr<Connection> target, requester;
    std::uint64_t serial = 0;  // tells this pair from a later one under the same hash
  };

  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> negotiate(std::shared_ptr<Connection> connection);
  boost::asio::awaitable<std::optional<std::string>> read_request(Connection& connection);
  boost::asio::awaitable<void> expire(std::string hash, std::uint64_t serial);
  void end_stream(const std::string& requester);

  ProxyLimits limits_;
  std::optional<boost::asio::io_context> io_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::thread thread_;
  std::size_t open_ = 0;  // SOCKS5 connections alive
  std::uint64_t serial_ = 0;
  std::map<std::string, Pair> pairs_;                 // connected, not activated
  std::map<std::string, std::size_t> streams_;        // active streams per requester
};

}  // namespace proxy65

#include "socks5_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <vector>

#include "common/log.hpp"
#include "relay.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace proxy65 {

namespace {

constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);
// The SOCKS5 greeting and request must arrive within this time.
constexpr auto kNegotiationTimeout = std::chrono::seconds(10);

// RFC 1928 §6 reply codes.
constexpr std::uint8_t kSucceeded = 0x00, kGeneralFailure = 0x01, kNotAllowed = 0x02, kCommandNotSupported = 0x07,
                       kAddressTypeNotSupported = 0x08;

bool is_sha1_hex(const std::string& s) {
  return s.size() == 40 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

// A SOCKS5 client connection; counted while it exists.
struct Socks5Server::Connection {
  Connection(Socks5Server& s, tcp::socket sock) : server(s), socket(std::move(sock)) { ++server.open_; }
  ~Connection() { --server.open_; }
  Socks5Server& server;
  tcp::socket socket;
};

Socks5Server::Socks5Server(ProxyLimits limits) : limits_(limits) {
  io_.emplace(1);
  acceptor_.emplace(*io_);
}

Socks5Server::~Socks5Server() { stop(); }

tcp::endpoint Socks5Server::listen(const std::string& address, unsigned short port) {
  tcp::endpoint where(asio::ip::make_address(address), port);
  acceptor_->open(where.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  acceptor_->bind(where);
  acceptor_->listen();
  return acceptor_->local_endpoint();
}

void Socks5Server::start() {
  asio::co_spawn(*io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_->run(); });
}

void Socks5Server::stop() {
  if (!io_) return;
  io_->stop();
  if (thread_.joinable()) thread_.join();
  pairs_.clear();
  acceptor_.reset();
  io_.reset();  // destroys the suspended negotiations and relays, closing their sockets
}

asio::awaitable<void> Socks5Server::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(kAsTuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) {  // e.g. out of file descriptors: wait instead of spinning
      xmppd::log::warn("proxy65: accept: ", ec.message());
      asio::steady_timer pause(*io_, std::chrono::milliseconds(200));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    if (open_ >= limits_.max_connections) {
      xmppd::log::warn("proxy65: refusing a connection: ", open_, " open (max_connections)");
      continue;  // the socket closes here
    }
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    asio::co_spawn(*io_, negotiate(std::move(connection)), asio::detached);
  }
}

// RFC 1928 §3–4 as XEP-0065 uses it: method "no authentication", command CONNECT, address
// type DOMAINNAME carrying the hash, port 0. Returns the hash, or nullopt after answering a
// failure (or on a broken connection).
asio::awaitable<std::optional<std::string>> Socks5Server::read_request(Connection& c) {
  std::array<std::uint8_t, 2> greeting{};
  if (auto [ec, n] = co_await asio::async_read(c.socket, asio::buffer(greeting), kAsTuple); ec || greeting[0] != 5)
    co_return std::nullopt;
  std::vector<std::uint8_t> methods(greeting[1]);
  if (auto [ec, n] = co_await asio::async_read(c.socket, asio::buffer(methods), kAsTuple); ec) co_return std::nullopt;
  bool no_auth = std::find(methods.begin(), methods.end(), 0x00) != methods.end();
  std::array<std::uint8_t, 2> choice{5, static_cast<std::uint8_t>(no_auth ? 0x00 : 0xFF)};
  if (auto [ec, n] = co_await asio::async_write(c.socket, asio::buffer(choice), kAsTuple); ec || !no_auth)
    co_return std::nullopt;

  // VER CMD RSV ATYP, then the address (read whole, so that a refusal is not answered with
  // a reset connection).
  std::array<std::uint8_t, 4> head{};
  if (auto [ec, n] = co_await asio::async_read(c.socket, asio::buffer(head), kAsTuple); ec || head[0] != 5)
    co_return std::nullopt;
  std::size_t address_size = 0;
  if (head[3] == 0x03) {
    std::uint8_t length = 0;
    if (auto [ec, n] = co_await asio::async_read(c.socket, asio::buffer(&length, 1), kAsTuple); ec)
      co_return std::nullopt;
    address_size = length;
  } else {
    address_size = head[3] == 0x01 ? 4 : head[3] == 0x04 ? 16 : 0;
  }
  bool known_type = head[3] == 0x01 || head[3] == 0x03 || head[3] == 0x04;
  std::vector<char> rest(address_size + 2);  // the address and the port
  if (known_type) {
    if (auto [ec, n] = co_await asio::async_read(c.socket, asio::buffer(rest), kAsTuple); ec) co_return std::nullopt;
  }
  std::string hash(rest.begin(), rest.end() - 2);
  std::transform(hash.begin(), hash.end(), hash.begin(), [](unsigned char ch) { return std::tolower(ch); });
  std::uint8_t failure = head[1] != 0x01   ? kCommandNotSupported
                         : head[3] != 0x03 ? kAddressTypeNotSupported
                         : !is_sha1_hex(hash) ? kGeneralFailure
                                             : kSucceeded;
  if (failure != kSucceeded) {
    std::array<std::uint8_t, 10> reply{5, failure, 0, 1, 0, 0, 0, 0, 0, 0};
    co_await asio::async_write(c.socket, asio::buffer(reply), kAsTuple);
    co_return std::nullopt;
  }
  co_return hash;
}

asio::awaitable<void> Socks5Server::negotiate(std::shared_ptr<Connection> connection) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer deadline(*io_, kNegotiationTimeout);
  auto outcome = co_await (read_request(*connection) || deadline.async_wait(kAsTuple));
  if (outcome.index() != 0 || !std::get<0>(outcome)) co_return;  // timed out, or failed
  std::string hash = std::move(*std::get<0>(outcome));

  // The first to connect under a hash is the target, the second the requester; a third
  // has no business there.
  Pair& pair = pairs_[hash];
  std::uint8_t status = kSucceeded;
  if (!pair.target) {
    pair.target = connection;
    pair.serial = ++serial_;
    asio::co_spawn(*io_, expire(hash, pair.serial), asio::detached);
  } else if (!pair.requester) {
    pair.requester = connection;
  } else {
    status = kNotAllowed;
  }
  // RFC 1928 §6 reply, naming the same address (XEP-0065 §6.3.3).
  std::string reply{'\x05', static_cast<char>(status), '\x00', '\x03', static_cast<char>(hash.size())};
  reply += hash;
  reply.append(2, '\0');  // port 0
  co_await asio::async_write(connection->socket, asio::buffer(reply), kAsTuple);
  xmppd::log::debug("proxy65: connection for ", hash, status == kSucceeded ? " waits" : " refused (pair complete)");
}

asio::awaitable<void> Socks5Server::expire(std::string hash, std::uint64_t serial) {
  asio::steady_timer timer(*io_, limits_.pair_timeout);
  co_await timer.async_wait(kAsTuple);
  auto it = pairs_.find(hash);
  if (it == pairs_.end() || it->second.serial != serial) co_return;  // activated (or replaced)
  pairs_.erase(it);  // the last references: the sockets close
  xmppd::log::info("proxy65: closed connections for ", hash, ": not activated within ", limits_.pair_timeout.count(),
                   " s");
}

void Socks5Server::activate(std::string hash, std::string requester, std::function<void(Activation)> done) {
  if (!io_) return done(Activation::no_pair);  // stopped (shutdown)
  asio::post(*io_, [this, hash = std::move(hash), requester = std::move(requester), done = std::move(done)] {
    auto it = pairs_.find(hash);
    if (it == pairs_.end() || !it->second.requester) return done(Activation::no_pair);
    if (streams_[requester] >= limits_.max_streams_per_user) {
      if (streams_[requester] == 0) streams_.erase(requester);
      return done(Activation::too_many_streams);
    }
    Pair pair = std::move(it->second);
    pairs_.erase(it);
    ++streams_[requester];
    auto run = [this, pair, requester, hash]() -> asio::awaitable<void> {
      std::uint64_t bytes = co_await relay(pair.target->socket, pair.requester->socket, limits_.bytes_per_second,
                                           limits_.idle_timeout);
      xmppd::log::info("proxy65: stream ", hash, " of ", requester, " ended after ", bytes, " bytes");
    };
    asio::co_spawn(*io_, std::move(run), [this, requester](std::exception_ptr) { end_stream(requester); });
    xmppd::log::info("proxy65: stream ", hash, " activated by ", requester);
    done(Activation::activated);
  });
}

void Socks5Server::end_stream(const std::string& requester) {
  auto it = streams_.find(requester);
  if (it != streams_.end() && --it->second == 0) streams_.erase(it);
}

}  // namespace proxy65

#include "net/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

#include "common/log.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace xmppd::net {
namespace {

int open_spare() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

}  // namespace

Listener::Listener(asio::io_context& io, const config::Listener& where,
                   std::vector<asio::io_context*> workers, OnAccept on_accept, std::string refusal,
                   std::string name, std::string mode)
    : acceptor_(io), direct_tls_(where.direct_tls), workers_(std::move(workers)),
      on_accept_(std::move(on_accept)), refusal_(std::move(refusal)), name_(std::move(name)),
      mode_(std::move(mode)) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(where.address, ec);
  if (ec) throw std::runtime_error("invalid listen address " + where.address);
  tcp::endpoint endpoint(address, where.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.set_option(tcp::no_delay(true));  // accepted sockets inherit it: no call per connection
  acceptor_.native_non_blocking(true);        // refuse_one accepts directly and must not block
  if (address.is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + where.address + ":" + std::to_string(where.port) +
                             ": " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections);
  spare_fd_ = open_spare();
}

Listener::~Listener() {
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

void Listener::start() {
  auto ep = endpoint();
  log::info(name_, " listening on ", ep.address().to_string(), ':', ep.port(), " (", mode_, ')');
  asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
}

void Listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Listener::accept_loop() {
  while (acceptor_.is_open()) {
    asio::io_context& worker = *workers_[next_worker_++ % workers_.size()];
    boost::system::error_code ec;
    tcp::endpoint peer;  // from accept itself: no getpeername per connection
    tcp::socket socket =
        co_await acceptor_.async_accept(worker, peer, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted) break;
    if (ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) {
      // asio tries accept before waiting, so nobody need be pending yet: wait for a client.
      co_await acceptor_.async_wait(tcp::acceptor::wait_read, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted) break;
      if (!refuse_one()) co_await pause();  // not even the spare: wait for a descriptor to free
      continue;
    }
    if (ec) {
      // Out of memory and the like: say so, pause, keep serving the others.
      log::warn("accept failed: ", ec.message());
      co_await pause();
      continue;
    }
    asio::post(worker, [this, s = std::move(socket), peer]() mutable { on_accept_(std::move(s), peer, direct_tls_); });
  }
}

asio::awaitable<void> Listener::pause() {
  asio::steady_timer timer(acceptor_.get_executor(), std::chrono::milliseconds(100));
  co_await timer.async_wait(asio::use_awaitable);
}

// Out of descriptors, a pending connection would wait in the backlog until one is freed, its
// client none the wiser. The spare descriptor makes room to accept it, tell it why, and close.
bool Listener::refuse_one() {
  if (spare_fd_ < 0 && (spare_fd_ = open_spare()) < 0) return false;
  ::close(spare_fd_);
  const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) {
    const int error = errno;
    spare_fd_ = open_spare();
    return error == EAGAIN || error == EWOULDBLOCK;  // else another thread took the descriptor
  }
  if (!refusal_.empty()) {
    ::send(fd, refusal_.data(), refusal_.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    // Read what the client already sent: closing with unread bytes would reset the
    // connection, and the client might never read the error.
    ::shutdown(fd, SHUT_WR);
    char discard[512];
    while (::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0) {
    }
  }
  ::close(fd);
  spare_fd_ = open_spare();
  const auto now = std::chrono::steady_clock::now();
  if (now - refusal_logged_ > std::chrono::seconds(10)) {
    refusal_logged_ = now;
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    log::warn("refusing connections: out of file descriptors (open-file limit ", files.rlim_cur,
              "; raise it with ulimit -n or LimitNOFILE=)");
  }
  return true;
}

}  // namespace xmppd::net

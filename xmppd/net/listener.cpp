#include "net/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>

#include "common/log.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace xmppd::net {

Listener::Listener(asio::io_context& io, const config::Listener& where,
                   std::vector<asio::io_context*> workers, OnAccept on_accept)
    : acceptor_(io), direct_tls_(where.direct_tls), workers_(std::move(workers)),
      on_accept_(std::move(on_accept)) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address(where.address, ec);
  if (ec) throw std::runtime_error("invalid listen address " + where.address);
  tcp::endpoint endpoint(address, where.port);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.set_option(tcp::no_delay(true));  // accepted sockets inherit it: no call per connection
  if (address.is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(endpoint, ec);
  if (ec)
    throw std::runtime_error("cannot listen on " + where.address + ":" + std::to_string(where.port) +
                             ": " + ec.message());
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Listener::start() {
  auto ep = endpoint();
  log::info("c2s listening on ", ep.address().to_string(), ':', ep.port(),
            direct_tls_ ? " (direct TLS)" : " (STARTTLS)");
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
    if (ec) {
      // Out of file descriptors and the like: say so, pause, keep serving the others.
      log::warn("accept failed: ", ec.message());
      asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(asio::use_awaitable);
      continue;
    }
    asio::post(worker, [this, s = std::move(socket), peer]() mutable { on_accept_(std::move(s), peer, direct_tls_); });
  }
}

}  // namespace xmppd::net

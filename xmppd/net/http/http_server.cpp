#include "net/http/http_server.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/log.hpp"
#include "net/http/http_connection.hpp"

namespace asio = boost::asio;

namespace xmppd::net::http {

Server::Server(const config::Config& config, TlsContexts& tls, asio::io_context& acceptors,
               std::vector<asio::io_context*> workers)
    : settings_(config.http), tls_(tls) {
  for (const auto& address : settings_.trusted_proxies) trusted_.push_back(asio::ip::make_address(address));
  for (const auto& where : settings_.listeners) {
    auto on_accept = [this](asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer, bool tls) {
      std::make_shared<Connection>(*this, Transport(std::move(socket), peer), tls)->start();
    };
    config::Listener listener{.address = where.address, .port = where.port, .direct_tls = where.tls};
    // Past the open-file limit a plain-HTTP client is told why; an HTTPS one can only be closed.
    std::string refusal = where.tls ? std::string() : std::string(kBusy);
    listeners_.push_back(std::make_unique<Listener>(acceptors, listener, workers, on_accept, std::move(refusal),
                                                    "http", where.tls ? "HTTPS" : "HTTP"));
    listener_tls_.push_back(where.tls);
  }
}

Server::~Server() = default;

void Server::route(std::string path, Handler handler) {
  for (const auto& taken : routes_)
    if (taken.first == path) throw std::runtime_error("the HTTP path " + path + " is served twice");
  routes_.emplace_back(std::move(path), std::move(handler));
  std::stable_sort(routes_.begin(), routes_.end(),
                   [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

void Server::start() {
  for (auto& l : listeners_) l->start();
}

void Server::stop() {
  for (auto& l : listeners_) l->stop();
}

std::string Server::local_url() const {
  if (listeners_.empty()) return {};
  auto where = listeners_.front()->endpoint();
  std::string host = where.address().is_unspecified() || where.address().is_loopback()
                         ? "localhost"
                         : where.address().is_v6() ? '[' + where.address().to_string() + ']'
                                                   : where.address().to_string();
  return std::string(listener_tls_.front() ? "https://" : "http://") + host + ':' + std::to_string(where.port()) + '/';
}

std::string Server::url_for(const std::string& host) const {
  if (listeners_.empty()) return {};
  auto tls = std::find(listener_tls_.begin(), listener_tls_.end(), true);
  std::size_t i = tls == listener_tls_.end() ? 0 : std::size_t(tls - listener_tls_.begin());
  return std::string(listener_tls_[i] ? "https://" : "http://") + host + ':' +
         std::to_string(listeners_[i]->endpoint().port());
}

const Handler* Server::find(std::string_view path) const {
  for (const auto& [route, handler] : routes_) {
    if (path == route || (route.ends_with('/') && path.starts_with(route))) return &handler;
  }
  return nullptr;
}

bool Server::trusted(const std::string& address) const {
  boost::system::error_code ec;
  auto parsed = asio::ip::make_address(address, ec);
  if (ec) return false;
  if (parsed.is_v6() && parsed.to_v6().is_v4_mapped())
    parsed = asio::ip::make_address_v4(asio::ip::v4_mapped, parsed.to_v6());
  return std::find(trusted_.begin(), trusted_.end(), parsed) != trusted_.end();
}

bool Server::origin_allowed(std::string_view origin) const {
  const auto& allowed = settings_.allowed_origins;
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), origin) != allowed.end();
}

}  // namespace xmppd::net::http

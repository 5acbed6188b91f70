// TLS contexts per virtual host: certificates from config, or a generated self-signed one.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace xmppd::net {

class TlsContexts {
 public:
  // Loads every host's certificate and key; a host without one gets a self-signed pair,
  // created once under <data_dir>/certs and reused. Throws std::runtime_error naming the
  // file at fault.
  explicit TlsContexts(const config::Config& config);

  // The context for a host (STARTTLS knows the host from the stream header).
  boost::asio::ssl::context& for_host(std::string_view domain);
  // For direct TLS: picks the host's context from the client's SNI, else the first host.
  boost::asio::ssl::context& by_sni() { return *contexts_.begin()->second; }

 private:
  std::map<std::string, std::unique_ptr<boost::asio::ssl::context>, std::less<>> contexts_;
};

}  // namespace xmppd::net

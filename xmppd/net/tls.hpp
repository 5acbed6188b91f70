// TLS contexts per virtual host: certificates from config, or a generated self-signed one.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace xmppd::net {

class TlsContexts {
 public:
  // Loads every host's certificate and key; a host without one gets a self-signed pair,
  // created once under <data_dir>/certs and reused. Throws std::runtime_error naming the
  // file at fault.
  explicit TlsContexts(const config::Config& config);

  // Loads the certificates again (SIGHUP): new handshakes use them, running sessions keep
  // theirs. Throws like the constructor and then keeps the current ones.
  void reload(const config::Config& config);

  // The context for a host (STARTTLS knows the host from the stream header). Fetch it for
  // each handshake: after a reload it is the new one.
  boost::asio::ssl::context& for_host(std::string_view domain);
  // For direct TLS: picks the host's context from the client's SNI, else the first host.
  boost::asio::ssl::context& by_sni();

 private:
  using Contexts = std::map<std::string, std::unique_ptr<boost::asio::ssl::context>, std::less<>>;
  Contexts load(const config::Config& config);

  std::mutex mutex_;
  Contexts contexts_;
  // Replaced contexts stay alive: references handed out remain valid. Reloads are rare
  // (certificate renewals), so this costs a few KB a year.
  std::vector<Contexts> retired_;
};

}  // namespace xmppd::net

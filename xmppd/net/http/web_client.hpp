// The web chat served at "/": Converse.js (installed from npm at build time) and a page that
// starts it against this server's WebSocket, with the host, title and room from [http].
// The files are read into memory at start, so serving them never waits for the disk.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "net/http/http_message.hpp"

namespace xmppd::net::http {

class WebClient {
 public:
  // Reads Converse.js from `root` (its dist/ directory). Throws std::runtime_error if the
  // directory holds no Converse.js.
  WebClient(const std::string& root, const config::Config& config);

  Handler handler();

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;
    std::string_view cache;  // Cache-Control
  };
  // Answers from the files in memory, without copying them.
  boost::asio::awaitable<void> serve(Exchange& exchange) const;
  const File* find(std::string_view path) const;

  File page_;
  std::map<std::string, File, std::less<>> assets_;  // by path below /converse/
};

// Where the build put Converse.js (empty if it was built without it).
std::string default_web_client_root();

}  // namespace xmppd::net::http

// The server's typed configuration, loaded from TOML and validated before start.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "xml/stream_parser.hpp"

namespace toml { inline namespace v3 { class table; } }

namespace xmppd::config {

struct Listener {
  std::string address;  // "0.0.0.0", "::", "127.0.0.1"
  std::uint16_t port = 0;
  bool direct_tls = false;  // XEP-0368: TLS from the first byte; otherwise STARTTLS
};

// [http]: the one HTTP layer (web clients over WebSocket, host-meta, the web chat).
struct Http {
  struct Listener {
    std::string address;
    std::uint16_t port = 0;
    bool tls = false;  // HTTPS with the first host's certificate (SNI picks another)
  };
  std::vector<Listener> listeners;  // none: no HTTP at all
  // Plain HTTP from these addresses counts as encrypted (a TLS-terminating proxy, or the
  // browser on this machine); their X-Forwarded-For names the client.
  std::vector<std::string> trusted_proxies{"127.0.0.1", "::1"};
  // Origins (scheme://host[:port]) whose pages may use the WebSocket; empty: any.
  std::vector<std::string> allowed_origins;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::seconds idle_timeout{60};  // for the next request on a connection
  unsigned max_connections = 10000;        // HTTP connections before a WebSocket upgrade
  std::chrono::seconds bosh_max_wait{60};    // longest a BOSH request is held (XEP-0124 'wait')
  std::chrono::seconds bosh_inactivity{60};  // a BOSH session without a request this long is over
  bool web_client = true;                  // Converse.js at "/"
  std::string web_client_title = "xmppd";
  std::string web_client_room;             // a room JID the web chat joins on login
  std::string web_client_root;             // Converse.js's dist/; empty: the build's copy
};

struct VirtualHost {
  std::string domain;        // nameprep-normalized
  std::string certificate;   // PEM path; empty: use a generated self-signed one
  std::string key;           // PEM path
  std::vector<std::string> modules;  // enabled module names; default: [server] modules
  std::vector<std::string> admins;   // bare JIDs, normalized
};

struct Config {
  std::string source_path;  // the file this came from

  // [server]
  std::string data_dir = "./data";
  unsigned threads = 0;  // 0: one per core
  std::vector<std::string> modules;  // modules enabled on every host unless it says otherwise
  std::vector<std::string> module_files;  // out-of-tree modules: shared objects to load

  // [log]
  std::string log_level = "info";
  std::string log_file;  // empty: stderr only

  // [c2s]
  std::vector<Listener> listeners;  // default: 0.0.0.0:5222 starttls, 0.0.0.0:5223 direct TLS
  bool require_encryption = true;   // STARTTLS before SASL
  std::chrono::seconds auth_timeout{30};  // unauthenticated streams are closed after this
  xml::ParserLimits limits;         // [c2s.limits] max_stanza_bytes, max_depth, max_attributes
  // [c2s.limits], continued; 0 means no limit where noted.
  std::size_t max_bytes_per_second = 256 * 1024;  // per connection, read side (0: none)
  unsigned max_connections_per_ip = 100;          // 0: none
  unsigned max_sessions_per_account = 10;         // bound resources of one account (0: none)
  std::size_t max_write_queue_bytes = 4 * 1024 * 1024;  // unread output before the client is dropped
  // [c2s] liveness: a stream that has read nothing for keepalive_interval is asked for an
  // answer (an SM <r/>, else a XEP-0199 ping); without one within keepalive_timeout it is dead.
  std::chrono::seconds keepalive_interval{300};
  std::chrono::seconds keepalive_timeout{60};
  // [c2s.stream_management] (XEP-0198)
  struct StreamManagement {
    bool enabled = true;
    std::chrono::seconds resume_timeout{300};  // how long a session whose socket died is kept
    unsigned max_queue = 1000;         // unacknowledged stanzas kept; past it the session ends
    unsigned request_ack_every = 5;    // the server sends <r/> after this many unacked stanzas
    std::chrono::seconds request_ack_after{30};  // ... or once the oldest waited this long
    bool keep_presence = true;         // a hibernated session stays available to contacts
  } stream_management;
  // [c2s.csi] (XEP-0352): stanzas held for an inactive client before the buffer is flushed.
  unsigned csi_max_held = 100;

  // [http]
  Http http;

  // [auth]
  std::vector<std::string> mechanisms{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};
  unsigned scram_iterations = 4096;
  unsigned max_auth_failures = 5;              // per IP within auth_failure_window
  std::chrono::seconds auth_failure_window{60};

  // [storage]
  std::string database;  // SQLite file; empty: <data_dir>/xmppd.sqlite

  // [hosts."<domain>"] — at least one
  std::vector<VirtualHost> hosts;

  // [modules.<name>] tables, validated by each module when it starts.
  std::shared_ptr<const toml::table> module_settings;

  const VirtualHost* host(std::string_view domain) const;
  std::string database_path() const;
};

// What is wrong with a config file, pointing at the place: "file:line: key: message".
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Loads and validates. Throws ConfigError listing every problem found (one per line),
// each naming the file, the line and the dotted key. Unknown keys are errors.
Config load(const std::string& path);
// The same, from text already in memory (`path` is only used in messages).
Config parse(std::string_view text, const std::string& path);

// The configuration used when no file is given: domain "localhost", data in ./data.
Config defaults();

}  // namespace xmppd::config

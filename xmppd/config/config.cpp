#include "config/config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <toml++/toml.h>
#include <xmppd/jid.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <set>
#include <utility>

#include "common/log.hpp"

namespace xmppd::config {
namespace {

constexpr std::string_view kMechanisms[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"};

std::string_view type_name(toml::node_type type) {
  switch (type) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "nothing";
}

// A key as it would be written in TOML: bare when it can be, quoted otherwise.
std::string quote_key(std::string_view key) {
  bool bare = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
  if (bare) return std::string(key);
  std::string out = "\"";
  for (char c : key) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + '"';
}

std::string join_key(const std::string& parent, std::string_view name) {
  return parent.empty() ? quote_key(name) : parent + '.' + quote_key(name);
}

bool is_ip_address(const std::string& text) {
  in6_addr buffer;
  return inet_pton(AF_INET, text.c_str(), &buffer) == 1 ||
         inet_pton(AF_INET6, text.c_str(), &buffer) == 1;
}

// One table of the document with its dotted key, so messages can name what they are about.
struct Section {
  const toml::table& table;
  std::string key;  // "" for the root

  std::string child(std::string_view name) const { return join_key(key, name); }
};

// Reads typed values out of the document, collecting every problem instead of stopping at
// the first: an admin fixing a config wants the whole list at once.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  void fail(const toml::node& at, std::string_view key, std::string_view message) {
    fail(at.source().begin.line, key, message);
  }
  void fail(std::uint32_t line, std::string_view key, std::string_view message) {
    line = std::max<std::uint32_t>(line, 1);
    errors_.emplace_back(line, file_ + ':' + std::to_string(line) + ": " + std::string(key) +
                                   ": " + std::string(message));
  }

  void check_keys(const Section& s, std::initializer_list<std::string_view> known) {
    for (const auto& [name, node] : s.table) {
      if (std::find(known.begin(), known.end(), name.str()) == known.end())
        fail(node, s.child(name.str()), "unknown key");
    }
  }

  // The sub-table `name` of `s`; nullopt when absent or not a table (reported).
  std::optional<Section> section(const Section& s, std::string_view name) {
    const toml::node* node = s.table.get(name);
    if (!node) return std::nullopt;
    return as_section(*node, s.child(name));
  }

  std::optional<Section> as_section(const toml::node& node, std::string key) {
    if (const toml::table* t = node.as_table()) return Section{*t, std::move(key)};
    wrong_type(node, key, "a table");
    return std::nullopt;
  }

  // Each read_* leaves `out` unchanged when the key is absent or wrong, and returns the
  // node when it was read, for further checks that need its line.
  const toml::node* read_string(const Section& s, std::string_view name, std::string& out) {
    const toml::node* node = s.table.get(name);
    if (!node) return nullptr;
    if (!node->is_string()) return wrong_type(*node, s.child(name), "a string");
    out = node->as_string()->get();
    return node;
  }

  const toml::node* read_bool(const Section& s, std::string_view name, bool& out) {
    const toml::node* node = s.table.get(name);
    if (!node) return nullptr;
    if (!node->is_boolean()) return wrong_type(*node, s.child(name), "a boolean");
    out = node->as_boolean()->get();
    return node;
  }

  template <class Int>
  const toml::node* read_int(const Section& s, std::string_view name, Int& out,
                             std::int64_t min, std::int64_t max) {
    const toml::node* node = s.table.get(name);
    if (!node) return nullptr;
    if (!node->is_integer()) return wrong_type(*node, s.child(name), "an integer");
    std::int64_t value = node->as_integer()->get();
    if (value < min || value > max) {
      fail(*node, s.child(name),
           "out of range: " + std::to_string(value) + " (allowed " + std::to_string(min) +
               ".." + std::to_string(max) + ")");
      return nullptr;
    }
    out = static_cast<Int>(value);
    return node;
  }

  const toml::node* read_seconds(const Section& s, std::string_view name,
                                 std::chrono::seconds& out, std::int64_t min, std::int64_t max) {
    std::int64_t count = out.count();
    const toml::node* node = read_int(s, name, count, min, max);
    out = std::chrono::seconds(count);
    return node;
  }

  const toml::node* read_strings(const Section& s, std::string_view name,
                                 std::vector<std::string>& out) {
    const toml::node* node = s.table.get(name);
    if (!node) return nullptr;
    const toml::array* array = node->as_array();
    if (!array) return wrong_type(*node, s.child(name), "an array of strings");
    std::vector<std::string> strings;
    for (std::size_t i = 0; i < array->size(); ++i) {
      const toml::node& item = *array->get(i);
      if (!item.is_string()) {
        fail(item, s.child(name),
             "expected an array of strings, item " + std::to_string(i) + " is " +
                 std::string(type_name(item.type())));
        return nullptr;
      }
      strings.push_back(item.as_string()->get());
    }
    out = std::move(strings);
    return node;
  }

  const std::vector<std::pair<std::uint32_t, std::string>>& errors() const { return errors_; }

 private:
  const toml::node* wrong_type(const toml::node& node, std::string_view key,
                               std::string_view expected) {
    fail(node, key,
         "expected " + std::string(expected) + ", got " + std::string(type_name(node.type())));
    return nullptr;
  }

  std::string file_;
  std::vector<std::pair<std::uint32_t, std::string>> errors_;  // (line, message)
};

void read_server(Reader& r, const Section& s, Config& c) {
  r.check_keys(s, {"data_dir", "threads", "modules", "module_files"});
  if (const toml::node* n = r.read_string(s, "data_dir", c.data_dir); n && c.data_dir.empty())
    r.fail(*n, s.child("data_dir"), "must not be empty");
  r.read_int(s, "threads", c.threads, 0, 256);
  r.read_strings(s, "modules", c.modules);
  r.read_strings(s, "module_files", c.module_files);
}

void read_log(Reader& r, const Section& s, Config& c) {
  r.check_keys(s, {"level", "file"});
  log::Level level;
  if (const toml::node* n = r.read_string(s, "level", c.log_level);
      n && !log::parse_level(c.log_level, level))
    r.fail(*n, s.child("level"),
           "unknown level \"" + c.log_level + "\" (allowed: debug, info, warn, error)");
  r.read_string(s, "file", c.log_file);
}

std::optional<Listener> read_listener(Reader& r, const Section& s) {
  r.check_keys(s, {"address", "port", "tls"});
  Listener l{.address = "0.0.0.0"};
  bool ok = true;
  std::string tls = "starttls";
  if (const toml::node* n = r.read_string(s, "tls", tls)) {
    if (tls == "direct") {
      l.direct_tls = true;
    } else if (tls != "starttls") {
      r.fail(*n, s.child("tls"), "unknown mode \"" + tls + "\" (allowed: starttls, direct)");
      ok = false;
    }
  }
  if (const toml::node* n = r.read_string(s, "address", l.address);
      n && !is_ip_address(l.address)) {
    r.fail(*n, s.child("address"), "\"" + l.address + "\" is not an IPv4 or IPv6 address");
    ok = false;
  }
  // The port defaults to the well-known one of the TLS mode (RFC 6120, XEP-0368).
  l.port = l.direct_tls ? 5223 : 5222;
  if (s.table.contains("port") && !r.read_int(s, "port", l.port, 0, 65535)) ok = false;
  if (!ok) return std::nullopt;
  return l;
}

// Each table of `parent`'s array `listen` ([[<parent>.listen]]) for `read_one(section,
// unique)`, where unique(address, port) reports a listener that another one already is.
template <class ReadOne>
void read_listen_tables(Reader& r, const Section& parent, ReadOne read_one) {
  const toml::node* node = parent.table.get("listen");
  if (!node) return;
  const std::string key = parent.child("listen");
  const toml::array* array = node->as_array();
  // is_homogeneous() is also false for an empty array: no listener at all is an error too.
  if (!array || !array->is_homogeneous(toml::node_type::table)) {
    r.fail(*node, key, "expected a non-empty array of tables ([[" + parent.key + ".listen]])");
    return;
  }
  std::set<std::pair<std::string, std::uint16_t>> seen;
  for (std::size_t i = 0; i < array->size(); ++i) {
    Section s{*array->get(i)->as_table(), key + '[' + std::to_string(i) + ']'};
    auto unique = [&](const std::string& address, std::uint16_t port) {
      // Port 0 asks the system for a free port, so several of them never clash.
      if (port == 0 || seen.emplace(address, port).second) return true;
      r.fail(s.table, s.key, "duplicate listener " + address + ':' + std::to_string(port));
      return false;
    };
    read_one(s, unique);
  }
}

void read_listeners(Reader& r, const Section& c2s, Config& c) {
  if (c2s.table.contains("listen")) c.listeners.clear();  // the defaults give way
  read_listen_tables(r, c2s, [&](const Section& s, const auto& unique) {
    auto listener = read_listener(r, s);
    if (listener && unique(listener->address, listener->port)) c.listeners.push_back(std::move(*listener));
  });
}

void read_c2s(Reader& r, const Section& s, Config& c) {
  r.check_keys(s, {"require_encryption", "auth_timeout", "keepalive_interval", "keepalive_timeout", "listen",
                   "limits", "stream_management", "csi"});
  r.read_bool(s, "require_encryption", c.require_encryption);
  r.read_seconds(s, "auth_timeout", c.auth_timeout, 1, 3600);
  r.read_seconds(s, "keepalive_interval", c.keepalive_interval, 1, 86400);
  r.read_seconds(s, "keepalive_timeout", c.keepalive_timeout, 1, 3600);
  if (auto sm = r.section(s, "stream_management")) {
    auto& m = c.stream_management;
    r.check_keys(*sm, {"enabled", "resume_timeout", "max_queue", "request_ack_every", "request_ack_after",
                       "keep_presence"});
    r.read_bool(*sm, "enabled", m.enabled);
    r.read_seconds(*sm, "resume_timeout", m.resume_timeout, 0, 86400);
    r.read_int(*sm, "max_queue", m.max_queue, 10, 1000000);
    r.read_int(*sm, "request_ack_every", m.request_ack_every, 1, 100000);
    r.read_seconds(*sm, "request_ack_after", m.request_ack_after, 1, 3600);
    r.read_bool(*sm, "keep_presence", m.keep_presence);
  }
  if (auto csi = r.section(s, "csi")) {
    r.check_keys(*csi, {"max_held"});
    r.read_int(*csi, "max_held", c.csi_max_held, 1, 100000);
  }
  read_listeners(r, s, c);
  if (auto limits = r.section(s, "limits")) {
    r.check_keys(*limits, {"max_stanza_bytes", "max_depth", "max_attributes", "max_bytes_per_second",
                           "max_connections_per_ip", "max_sessions_per_account", "max_write_queue_bytes"});
    r.read_int(*limits, "max_stanza_bytes", c.limits.max_stanza_bytes, 1024, 16 * 1024 * 1024);
    r.read_int(*limits, "max_depth", c.limits.max_depth, 4, 1024);
    r.read_int(*limits, "max_attributes", c.limits.max_attributes, 4, 1024);
    r.read_int(*limits, "max_bytes_per_second", c.max_bytes_per_second, 0, std::size_t(1) << 30);
    r.read_int(*limits, "max_connections_per_ip", c.max_connections_per_ip, 0, 1000000);
    r.read_int(*limits, "max_sessions_per_account", c.max_sessions_per_account, 0, 10000);
    r.read_int(*limits, "max_write_queue_bytes", c.max_write_queue_bytes, 65536, std::size_t(1) << 30);
  }
}

void read_http_listeners(Reader& r, const Section& http, Config& c) {
  read_listen_tables(r, http, [&](const Section& s, const auto& unique) {
    r.check_keys(s, {"address", "port", "tls"});
    Http::Listener l{.address = "0.0.0.0"};
    bool ok = true;
    r.read_bool(s, "tls", l.tls);
    if (const toml::node* n = r.read_string(s, "address", l.address); n && !is_ip_address(l.address)) {
      r.fail(*n, s.child("address"), "\"" + l.address + "\" is not an IPv4 or IPv6 address");
      ok = false;
    }
    l.port = l.tls ? 5281 : 5280;
    if (s.table.contains("port") && !r.read_int(s, "port", l.port, 0, 65535)) ok = false;
    if (ok && unique(l.address, l.port)) c.http.listeners.push_back(std::move(l));
  });
}

void read_http(Reader& r, const Section& s, Config& c) {
  auto& h = c.http;
  r.check_keys(s, {"listen", "trusted_proxies", "allowed_origins", "max_header_bytes", "max_body_bytes",
                   "idle_timeout", "max_connections", "bosh_max_wait", "bosh_inactivity", "web_client",
                   "web_client_title", "web_client_room", "web_client_root"});
  read_http_listeners(r, s, c);
  if (const toml::node* n = r.read_strings(s, "trusted_proxies", h.trusted_proxies)) {
    for (const auto& address : h.trusted_proxies)
      if (!is_ip_address(address))
        r.fail(*n, s.child("trusted_proxies"), "\"" + address + "\" is not an IPv4 or IPv6 address");
  }
  if (const toml::node* n = r.read_strings(s, "allowed_origins", h.allowed_origins)) {
    for (const auto& origin : h.allowed_origins)
      if (!origin.starts_with("http://") && !origin.starts_with("https://"))
        r.fail(*n, s.child("allowed_origins"), "\"" + origin + "\" is not an origin (https://host[:port])");
  }
  r.read_int(s, "max_header_bytes", h.max_header_bytes, 1024, 1024 * 1024);
  r.read_int(s, "max_body_bytes", h.max_body_bytes, 1024, std::size_t(1) << 30);
  r.read_seconds(s, "idle_timeout", h.idle_timeout, 1, 3600);
  r.read_int(s, "max_connections", h.max_connections, 1, 10000000);
  r.read_seconds(s, "bosh_max_wait", h.bosh_max_wait, 1, 3600);
  r.read_seconds(s, "bosh_inactivity", h.bosh_inactivity, 1, 3600);
  r.read_bool(s, "web_client", h.web_client);
  r.read_string(s, "web_client_title", h.web_client_title);
  if (const toml::node* n = r.read_string(s, "web_client_room", h.web_client_room);
      n && !h.web_client_room.empty()) {
    auto room = Jid::parse(h.web_client_room);
    if (!room || room->node().empty() || !room->resource().empty())
      r.fail(*n, s.child("web_client_room"), "\"" + h.web_client_room + "\" is not a room JID (room@service)");
    else
      h.web_client_room = room->str();
  }
  if (const toml::node* n = r.read_string(s, "web_client_root", h.web_client_root);
      n && !h.web_client_root.empty() && !std::filesystem::is_directory(h.web_client_root))
    r.fail(*n, s.child("web_client_root"), "\"" + h.web_client_root + "\" is not a directory");
}

void read_auth(Reader& r, const Section& s, Config& c) {
  r.check_keys(s, {"mechanisms", "scram_iterations", "max_failures", "failure_window"});
  std::vector<std::string> mechanisms;
  if (const toml::node* n = r.read_strings(s, "mechanisms", mechanisms)) {
    const std::string key = s.child("mechanisms");
    bool ok = true;
    if (mechanisms.empty()) {
      r.fail(*n, key, "must name at least one mechanism");
      ok = false;
    }
    for (std::size_t i = 0; i < mechanisms.size(); ++i) {
      const std::string& m = mechanisms[i];
      const toml::node& item = *n->as_array()->get(i);
      if (std::find(std::begin(kMechanisms), std::end(kMechanisms), m) == std::end(kMechanisms)) {
        r.fail(item, key,
               "unknown mechanism \"" + m + "\" (allowed: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN)");
        ok = false;
      } else if (std::find(mechanisms.begin(), mechanisms.begin() + i, m) !=
                 mechanisms.begin() + i) {
        r.fail(item, key, "duplicate mechanism \"" + m + "\"");
        ok = false;
      }
    }
    if (ok) c.mechanisms = std::move(mechanisms);
  }
  r.read_int(s, "scram_iterations", c.scram_iterations, 4096, 1000000);
  r.read_int(s, "max_failures", c.max_auth_failures, 1, 1000);
  r.read_seconds(s, "failure_window", c.auth_failure_window, 1, 86400);
}

void read_storage(Reader& r, const Section& s, Config& c) {
  r.check_keys(s, {"database"});
  r.read_string(s, "database", c.database);
}

// Problems go to `r`; the host is only used when there are none, except its domain (empty
// when invalid), which is always checked for duplicates.
VirtualHost read_host(Reader& r, const Section& s, std::string_view name, const Config& c) {
  r.check_keys(s, {"certificate", "key", "modules", "admins"});
  VirtualHost h;
  if (auto domain = Jid::nameprep(name))
    h.domain = std::move(*domain);
  else
    r.fail(s.table, s.key, "invalid domain \"" + std::string(name) + "\"");
  r.read_string(s, "certificate", h.certificate);
  r.read_string(s, "key", h.key);
  // A certificate without its key (or the reverse) cannot be loaded; say which is missing.
  if (h.certificate.empty() != h.key.empty()) {
    std::string_view present = h.key.empty() ? "certificate" : "key";
    std::string_view missing = h.key.empty() ? "key" : "certificate";
    r.fail(*s.table.get(present), s.child(missing),
           "required when " + std::string(present) + " is set");
  }
  h.modules = c.modules;
  r.read_strings(s, "modules", h.modules);
  std::vector<std::string> admins;
  if (const toml::node* n = r.read_strings(s, "admins", admins)) {
    for (std::size_t i = 0; i < admins.size(); ++i) {
      const toml::node& item = *n->as_array()->get(i);
      auto jid = Jid::parse(admins[i]);
      if (!jid)
        r.fail(item, s.child("admins"), "invalid JID \"" + admins[i] + "\"");
      else if (!jid->is_bare())
        r.fail(item, s.child("admins"),
               "\"" + admins[i] + "\" has a resource; admins are bare JIDs (user@domain)");
      else
        h.admins.push_back(jid->bare_str());
    }
  }
  return h;
}

void read_hosts(Reader& r, const Section& root, Config& c) {
  const toml::node* node = root.table.get("hosts");
  if (!node) {
    r.fail(1, "hosts", "at least one host is required ([hosts.\"example.org\"])");
    return;
  }
  auto hosts = r.as_section(*node, "hosts");
  if (!hosts) return;
  if (hosts->table.empty()) {
    r.fail(hosts->table, hosts->key, "at least one host is required ([hosts.\"example.org\"])");
    return;
  }
  // toml++ iterates keys in sorted order; go in file order so hosts keep the admin's order
  // and a duplicate is reported at its second occurrence.
  std::vector<std::pair<std::string_view, const toml::node*>> entries;
  for (const auto& [name, value] : hosts->table) entries.emplace_back(name.str(), &value);
  std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
    return a.second->source().begin.line < b.second->source().begin.line;
  });
  std::vector<std::pair<std::string_view, std::uint32_t>> seen;  // name and line of c.hosts[i]
  for (const auto& [name, value] : entries) {
    auto s = r.as_section(*value, hosts->child(name));
    if (!s) continue;
    VirtualHost host = read_host(r, *s, name, c);
    if (host.domain.empty()) continue;
    auto same = std::find_if(c.hosts.begin(), c.hosts.end(),
                             [&](const VirtualHost& h) { return h.domain == host.domain; });
    if (same != c.hosts.end()) {
      const auto& [first_name, first_line] = seen[same - c.hosts.begin()];
      r.fail(s->table, s->key,
             "duplicate host \"" + host.domain + "\" (same as \"" + std::string(first_name) +
                 "\" at line " + std::to_string(first_line) + ")");
      continue;
    }
    seen.emplace_back(name, value->source().begin.line);
    c.hosts.push_back(std::move(host));
  }
}

// [modules] is kept as-is for the modules to validate; only its shape is checked here.
void check_module_settings(Reader& r, const Section& root) {
  if (auto modules = r.section(root, "modules")) {
    for (const auto& [name, value] : modules->table)
      r.as_section(value, modules->child(name.str()));
  }
}

Config read(toml::table& document, const std::string& path) {
  Config c;
  c.source_path = path;
  c.listeners = {{.address = "0.0.0.0", .port = 5222, .direct_tls = false},
                 {.address = "0.0.0.0", .port = 5223, .direct_tls = true}};
  Reader r(path);
  Section root{document, ""};
  r.check_keys(root, {"server", "log", "c2s", "http", "auth", "storage", "hosts", "modules"});
  // [server] first: hosts inherit its module list.
  if (auto s = r.section(root, "server")) read_server(r, *s, c);
  if (auto s = r.section(root, "log")) read_log(r, *s, c);
  if (auto s = r.section(root, "c2s")) read_c2s(r, *s, c);
  if (auto s = r.section(root, "http")) read_http(r, *s, c);
  if (auto s = r.section(root, "auth")) read_auth(r, *s, c);
  if (auto s = r.section(root, "storage")) read_storage(r, *s, c);
  read_hosts(r, root, c);
  check_module_settings(r, root);

  if (!r.errors().empty()) {
    auto errors = r.errors();
    std::stable_sort(errors.begin(), errors.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string what;
    for (const auto& [line, message] : errors) {
      if (!what.empty()) what += '\n';
      what += message;
    }
    throw ConfigError(what);
  }
  // Moved out, not copied: toml++ copies drop the source positions modules need to report
  // errors in their settings the same way.
  if (toml::table* modules = document["modules"].as_table())
    c.module_settings = std::make_shared<const toml::table>(std::move(*modules));
  else
    c.module_settings = std::make_shared<const toml::table>();
  return c;
}

}  // namespace

const VirtualHost* Config::host(std::string_view domain) const {
  auto normalized = Jid::nameprep(domain);
  if (!normalized) return nullptr;
  auto it = std::find_if(hosts.begin(), hosts.end(),
                         [&](const VirtualHost& h) { return h.domain == *normalized; });
  return it == hosts.end() ? nullptr : &*it;
}

std::string Config::database_path() const {
  if (!database.empty()) return database;
  return (std::filesystem::path(data_dir) / "xmppd.sqlite").string();
}

Config load(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  std::string text;
  char buffer[8192];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, n);
  int error = std::ferror(file) ? errno : 0;  // e.g. EISDIR: fopen succeeds on a directory
  std::fclose(file);
  if (error) throw ConfigError(path + ": cannot read: " + std::strerror(error));
  return parse(text, path);
}

Config parse(std::string_view text, const std::string& path) {
  toml::table document;
  try {
    document = toml::parse(text, std::string_view(path));
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw ConfigError(path + ':' + std::to_string(at.line) + ':' + std::to_string(at.column) +
                      ": " + std::string(e.description()));
  }
  return read(document, path);
}

Config defaults() { return parse("[hosts.localhost]\n", "(defaults)"); }

}  // namespace xmppd::config

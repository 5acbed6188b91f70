#include "config/config.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace xmppd::config {
namespace {

using ::testing::HasSubstr;

// The message of the ConfigError that parsing `text` as "test.toml" throws ("" if none).
std::string error_of(std::string_view text) {
  try {
    parse(text, "test.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A file in a fresh temporary directory, removed with it.
class TempFile {
 public:
  explicit TempFile(std::string_view content) {
    char tmpl[] = "/tmp/xmppd-config-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/xmppd.toml";
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir_); }
  const std::string& path() const { return path_; }
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_, path_;
};

void expect_default_settings(const Config& c) {
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.threads, 0u);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.log_file, "");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 5222);
  EXPECT_FALSE(c.listeners[0].direct_tls);
  EXPECT_EQ(c.listeners[1].address, "0.0.0.0");
  EXPECT_EQ(c.listeners[1].port, 5223);
  EXPECT_TRUE(c.listeners[1].direct_tls);
  EXPECT_TRUE(c.require_encryption);
  EXPECT_EQ(c.auth_timeout, std::chrono::seconds(30));
  EXPECT_EQ(c.limits.max_stanza_bytes, 262144u);
  EXPECT_EQ(c.limits.max_depth, 32u);
  EXPECT_EQ(c.limits.max_attributes, 64u);
  EXPECT_EQ(c.mechanisms, (std::vector<std::string>{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}));
  EXPECT_EQ(c.scram_iterations, 4096u);
  EXPECT_EQ(c.max_auth_failures, 5u);
  EXPECT_EQ(c.auth_failure_window, std::chrono::seconds(60));
  EXPECT_EQ(c.database, "");
  EXPECT_EQ(c.database_path(), "./data/xmppd.sqlite");
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].domain, "localhost");
  EXPECT_EQ(c.hosts[0].certificate, "");
  EXPECT_EQ(c.hosts[0].key, "");
  EXPECT_EQ(c.hosts[0].modules, c.modules);  // a host without its own list takes [server]'s
  ASSERT_NE(c.module_settings, nullptr);
  EXPECT_TRUE(c.module_settings->empty());
}

TEST(Config, ShippedFileLoadsWithDefaults) {
  Config c = load(XMPPD_SHIPPED_CONFIG);
  EXPECT_EQ(c.source_path, XMPPD_SHIPPED_CONFIG);
  expect_default_settings(c);
  EXPECT_EQ(c.hosts[0].admins, (std::vector<std::string>{"admin@localhost"}));
  // The shipped file enables the standard modules; the built-in defaults enable none.
  EXPECT_EQ(c.modules, (std::vector<std::string>{"roster", "presence", "disco", "offline", "vcard", "private",
                                                "blocking", "last", "register", "adhoc", "ping", "version",
                                                "time", "muc", "http_upload", "proxy65", "carbons",
                                                "push", "mam", "pep", "pubsub", "search"}));
  EXPECT_TRUE(c.module_files.empty());
  // The shipped file serves the web chat: plain HTTP for this machine, HTTPS for the others.
  ASSERT_EQ(c.http.listeners.size(), 2u);
  EXPECT_EQ(c.http.listeners[0].port, 5280);
  EXPECT_FALSE(c.http.listeners[0].tls);
  EXPECT_EQ(c.http.listeners[1].port, 5281);
  EXPECT_TRUE(c.http.listeners[1].tls);
  EXPECT_TRUE(c.http.web_client);
}

TEST(Config, HttpIsOffUnlessListenersAreConfigured) {
  Config c = defaults();
  EXPECT_TRUE(c.http.listeners.empty());
  EXPECT_EQ(c.http.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_TRUE(c.http.allowed_origins.empty());
}

TEST(Config, HttpSectionIsParsed) {
  Config c = parse(R"([http]
trusted_proxies = ["10.0.0.1"]
allowed_origins = ["https://chat.example.com"]
max_header_bytes = 8192
max_body_bytes = 65536
idle_timeout = 20
max_connections = 50
bosh_max_wait = 30
bosh_inactivity = 90
web_client = false
web_client_title = "Example chat"
web_client_room = "Lobby@conference.localhost"
[[http.listen]]
address = "127.0.0.1"
[[http.listen]]
tls = true
port = 8443
[hosts.localhost]
)", "test.toml");
  ASSERT_EQ(c.http.listeners.size(), 2u);
  EXPECT_EQ(c.http.listeners[0].address, "127.0.0.1");
  EXPECT_EQ(c.http.listeners[0].port, 5280);  // the default of its mode
  EXPECT_FALSE(c.http.listeners[0].tls);
  EXPECT_EQ(c.http.listeners[1].address, "0.0.0.0");
  EXPECT_EQ(c.http.listeners[1].port, 8443);
  EXPECT_TRUE(c.http.listeners[1].tls);
  EXPECT_EQ(c.http.trusted_proxies, (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_EQ(c.http.allowed_origins, (std::vector<std::string>{"https://chat.example.com"}));
  EXPECT_EQ(c.http.max_header_bytes, 8192u);
  EXPECT_EQ(c.http.max_body_bytes, 65536u);
  EXPECT_EQ(c.http.idle_timeout, std::chrono::seconds(20));
  EXPECT_EQ(c.http.max_connections, 50u);
  EXPECT_EQ(c.http.bosh_max_wait, std::chrono::seconds(30));
  EXPECT_EQ(c.http.bosh_inactivity, std::chrono::seconds(90));
  EXPECT_FALSE(c.http.web_client);
  EXPECT_EQ(c.http.web_client_title, "Example chat");
  EXPECT_EQ(c.http.web_client_room, "lobby@conference.localhost");
}

TEST(Config, BadHttpSettingsNameFileLineAndKey) {
  std::string e = error_of(R"([http]
trusted_proxies = ["proxy.local"]
allowed_origins = ["chat.example.com"]
web_client_room = "not a jid/with resource"
web_client_root = "/nonexistent/converse"
max_header_bytes = 10
[[http.listen]]
address = "localhost"
[[http.listen]]
port = 5280
[[http.listen]]
port = 5280
[hosts.localhost]
)");
  EXPECT_THAT(e, HasSubstr("test.toml:2: http.trusted_proxies: \"proxy.local\" is not an IPv4 or IPv6 address"));
  EXPECT_THAT(e, HasSubstr("test.toml:3: http.allowed_origins: \"chat.example.com\" is not an origin"));
  EXPECT_THAT(e, HasSubstr("test.toml:4: http.web_client_room:"));
  EXPECT_THAT(e, HasSubstr("test.toml:5: http.web_client_root: \"/nonexistent/converse\" is not a directory"));
  EXPECT_THAT(e, HasSubstr("test.toml:6: http.max_header_bytes: out of range"));
  EXPECT_THAT(e, HasSubstr("test.toml:8: http.listen[0].address:"));
  EXPECT_THAT(e, HasSubstr("http.listen[2]: duplicate listener 0.0.0.0:5280"));
}

TEST(Config, DefaultsEqualAFileWithOnlyOneHost) {
  Config d = defaults();
  EXPECT_EQ(d.source_path, "(defaults)");
  expect_default_settings(d);
  EXPECT_TRUE(d.hosts[0].admins.empty());
  EXPECT_TRUE(d.modules.empty());
  expect_default_settings(parse("[hosts.localhost]\n", "test.toml"));
}

TEST(Config, EveryKeyIsParsed) {
  Config c = parse(R"([server]
data_dir = "/var/lib/xmppd"
threads = 8
modules = ["roster", "disco"]
module_files = ["/opt/xmppd/hello.so"]

[log]
level = "debug"
file = "/var/log/xmppd.log"

[c2s]
require_encryption = false
auth_timeout = 10
[[c2s.listen]]
address = "::"
port = 15222
tls = "starttls"
[[c2s.listen]]
address = "127.0.0.1"
port = 0
tls = "direct"
[c2s.limits]
max_stanza_bytes = 65536
max_depth = 16
max_attributes = 32

[auth]
mechanisms = ["PLAIN", "SCRAM-SHA-1"]
scram_iterations = 10000
max_failures = 3
failure_window = 120

[storage]
database = "/srv/xmppd.db"

[hosts."Example.COM."]
certificate = "/etc/xmppd/example.crt"
key = "/etc/xmppd/example.key"
modules = ["muc"]
admins = ["Admin@Example.COM", "example.com"]

[hosts."chat.example.org"]

[modules.muc]
max_rooms = 10
)", "test.toml");
  EXPECT_EQ(c.source_path, "test.toml");
  EXPECT_EQ(c.data_dir, "/var/lib/xmppd");
  EXPECT_EQ(c.threads, 8u);
  EXPECT_EQ(c.modules, (std::vector<std::string>{"roster", "disco"}));
  EXPECT_EQ(c.module_files, (std::vector<std::string>{"/opt/xmppd/hello.so"}));
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.log_file, "/var/log/xmppd.log");
  EXPECT_FALSE(c.require_encryption);
  EXPECT_EQ(c.auth_timeout, std::chrono::seconds(10));
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address, "::");
  EXPECT_EQ(c.listeners[0].port, 15222);
  EXPECT_FALSE(c.listeners[0].direct_tls);
  EXPECT_EQ(c.listeners[1].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[1].port, 0);
  EXPECT_TRUE(c.listeners[1].direct_tls);
  EXPECT_EQ(c.limits.max_stanza_bytes, 65536u);
  EXPECT_EQ(c.limits.max_depth, 16u);
  EXPECT_EQ(c.limits.max_attributes, 32u);
  EXPECT_EQ(c.mechanisms, (std::vector<std::string>{"PLAIN", "SCRAM-SHA-1"}));
  EXPECT_EQ(c.scram_iterations, 10000u);
  EXPECT_EQ(c.max_auth_failures, 3u);
  EXPECT_EQ(c.auth_failure_window, std::chrono::seconds(120));
  EXPECT_EQ(c.database, "/srv/xmppd.db");
  EXPECT_EQ(c.database_path(), "/srv/xmppd.db");
  // Hosts keep the file's order, domains and admins normalized.
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[0].domain, "example.com");
  EXPECT_EQ(c.hosts[0].certificate, "/etc/xmppd/example.crt");
  EXPECT_EQ(c.hosts[0].key, "/etc/xmppd/example.key");
  EXPECT_EQ(c.hosts[0].modules, (std::vector<std::string>{"muc"}));
  EXPECT_EQ(c.hosts[0].admins, (std::vector<std::string>{"admin@example.com", "example.com"}));
  EXPECT_EQ(c.hosts[1].domain, "chat.example.org");
  EXPECT_EQ(c.hosts[1].modules, (std::vector<std::string>{"roster", "disco"}));  // inherited
  EXPECT_TRUE(c.hosts[1].admins.empty());
  EXPECT_EQ((*c.module_settings)["muc"]["max_rooms"].value<int>(), 10);
}

TEST(Config, HostLookupNormalizesTheDomain) {
  Config c = parse("[hosts.\"example.com\"]\n[hosts.\"chat.example.org\"]\n", "test.toml");
  ASSERT_NE(c.host("EXAMPLE.com"), nullptr);
  EXPECT_EQ(c.host("EXAMPLE.com")->domain, "example.com");
  EXPECT_EQ(c.host("chat.example.org."), &c.hosts[1]);
  EXPECT_EQ(c.host("example.net"), nullptr);
  EXPECT_EQ(c.host("not a domain"), nullptr);
}

TEST(Config, ListenerDefaultsFollowTheTlsMode) {
  Config c = parse(R"([[c2s.listen]]
tls = "direct"
[[c2s.listen]]
address = "127.0.0.1"
[hosts.localhost]
)", "test.toml");
  ASSERT_EQ(c.listeners.size(), 2u);
  EXPECT_EQ(c.listeners[0].address, "0.0.0.0");
  EXPECT_EQ(c.listeners[0].port, 5223);
  EXPECT_TRUE(c.listeners[0].direct_tls);
  EXPECT_EQ(c.listeners[1].address, "127.0.0.1");
  EXPECT_EQ(c.listeners[1].port, 5222);
  EXPECT_FALSE(c.listeners[1].direct_tls);
}

TEST(Config, WrongTypesNameTheExpectedType) {
  std::string e = error_of(R"([server]
threads = "four"
modules = ["roster", 1]
data_dir = []
[c2s]
require_encryption = "yes"
listen = { address = "::" }
limits = 5
[log]
level = 3
[hosts.localhost]
)");
  EXPECT_THAT(e, HasSubstr("test.toml:2: server.threads: expected an integer, got a string"));
  EXPECT_THAT(e, HasSubstr("test.toml:3: server.modules: expected an array of strings, item 1 is an integer"));
  EXPECT_THAT(e, HasSubstr("test.toml:4: server.data_dir: expected a string, got an array"));
  EXPECT_THAT(e, HasSubstr("test.toml:6: c2s.require_encryption: expected a boolean"));
  EXPECT_THAT(e, HasSubstr("test.toml:7: c2s.listen: expected a non-empty array of tables"));
  EXPECT_THAT(e, HasSubstr("test.toml:8: c2s.limits: expected a table, got an integer"));
  EXPECT_THAT(e, HasSubstr("test.toml:10: log.level: expected a string, got an integer"));
}

TEST(Config, FloatIsNotAnInteger) {
  EXPECT_THAT(error_of("[c2s]\nauth_timeout = 30.5\n[hosts.localhost]\n"),
              HasSubstr("test.toml:2: c2s.auth_timeout: expected an integer, got a floating-point number"));
}

TEST(Config, OutOfRangeValuesNameTheRange) {
  std::string e = error_of(R"([server]
threads = 257
[c2s]
auth_timeout = 0
[[c2s.listen]]
port = 5222
[[c2s.listen]]
port = 70000
[c2s.limits]
max_stanza_bytes = 100
max_depth = 2000
max_attributes = 3
[auth]
scram_iterations = 1000
max_failures = 0
failure_window = 0
[hosts.localhost]
)");
  EXPECT_THAT(e, HasSubstr("test.toml:2: server.threads: out of range: 257 (allowed 0..256)"));
  EXPECT_THAT(e, HasSubstr("test.toml:4: c2s.auth_timeout: out of range: 0 (allowed 1..3600)"));
  EXPECT_THAT(e, HasSubstr("test.toml:8: c2s.listen[1].port: out of range: 70000 (allowed 0..65535)"));
  EXPECT_THAT(e, HasSubstr("test.toml:10: c2s.limits.max_stanza_bytes: out of range: 100 (allowed 1024..16777216)"));
  EXPECT_THAT(e, HasSubstr("test.toml:11: c2s.limits.max_depth: out of range: 2000 (allowed 4..1024)"));
  EXPECT_THAT(e, HasSubstr("test.toml:12: c2s.limits.max_attributes: out of range: 3 (allowed 4..1024)"));
  EXPECT_THAT(e, HasSubstr("test.toml:14: auth.scram_iterations: out of range: 1000 (allowed 4096..1000000)"));
  EXPECT_THAT(e, HasSubstr("test.toml:15: auth.max_failures: out of range: 0 (allowed 1..1000)"));
  EXPECT_THAT(e, HasSubstr("test.toml:16: auth.failure_window: out of range: 0 (allowed 1..86400)"));
}

TEST(Config, UnknownEnumValuesNameTheAllowedOnes) {
  std::string e = error_of(R"([log]
level = "verbose"
[[c2s.listen]]
tls = "implicit"
[auth]
mechanisms = ["SCRAM-SHA-256",
  "SCRAM-SHA-512",
  "SCRAM-SHA-256"]
[hosts.localhost]
)");
  EXPECT_THAT(e, HasSubstr("test.toml:2: log.level: unknown level \"verbose\" (allowed: debug, info, warn, error)"));
  EXPECT_THAT(e, HasSubstr("test.toml:4: c2s.listen[0].tls: unknown mode \"implicit\" (allowed: starttls, direct)"));
  EXPECT_THAT(e, HasSubstr("test.toml:7: auth.mechanisms: unknown mechanism \"SCRAM-SHA-512\" (allowed: SCRAM-SHA-256, SCRAM-SHA-1, PLAIN)"));
  EXPECT_THAT(e, HasSubstr("test.toml:8: auth.mechanisms: duplicate mechanism \"SCRAM-SHA-256\""));
}

TEST(Config, EmptyListsThatMustNotBeEmpty) {
  std::string e = error_of("[c2s]\nlisten = []\n[auth]\nmechanisms = []\n[hosts.localhost]\n");
  EXPECT_THAT(e, HasSubstr("test.toml:2: c2s.listen: expected a non-empty array of tables"));
  EXPECT_THAT(e, HasSubstr("test.toml:4: auth.mechanisms: must name at least one mechanism"));
  EXPECT_THAT(error_of("[server]\ndata_dir = \"\"\n[hosts.localhost]\n"),
              HasSubstr("test.toml:2: server.data_dir: must not be empty"));
}

TEST(Config, ListenerAddressMustBeAnIpAddress) {
  EXPECT_THAT(error_of("[[c2s.listen]]\naddress = \"localhost\"\n[hosts.localhost]\n"),
              HasSubstr("test.toml:2: c2s.listen[0].address: \"localhost\" is not an IPv4 or IPv6 address"));
}

TEST(Config, DuplicateListenerIsReported) {
  std::string e = error_of(R"([[c2s.listen]]
port = 5222
[[c2s.listen]]
port = 5222
tls = "direct"
[hosts.localhost]
)");
  EXPECT_THAT(e, HasSubstr("test.toml:3: c2s.listen[1]: duplicate listener 0.0.0.0:5222"));
}

TEST(Config, InvalidDomainAndAdminsAreReported) {
  std::string e = error_of(R"([hosts."bad domain!"]
[hosts.localhost]
admins = ["admin@localhost",
  "admin@localhost/phone",
  "@localhost"]
)");
  EXPECT_THAT(e, HasSubstr("test.toml:1: hosts.\"bad domain!\": invalid domain \"bad domain!\""));
  EXPECT_THAT(e, HasSubstr("test.toml:4: hosts.localhost.admins: \"admin@localhost/phone\" has a resource"));
  EXPECT_THAT(e, HasSubstr("test.toml:5: hosts.localhost.admins: invalid JID \"@localhost\""));
}

TEST(Config, CertificateAndKeyGoTogether) {
  std::string e = error_of(R"([hosts."a.example"]
certificate = "a.crt"
[hosts."b.example"]
key = "b.key"
)");
  EXPECT_THAT(e, HasSubstr("test.toml:2: hosts.\"a.example\".key: required when certificate is set"));
  EXPECT_THAT(e, HasSubstr("test.toml:4: hosts.\"b.example\".certificate: required when key is set"));
}

TEST(Config, AtLeastOneHostIsRequired) {
  EXPECT_EQ(error_of("[server]\nthreads = 1\n"),
            "test.toml:1: hosts: at least one host is required ([hosts.\"example.org\"])");
  EXPECT_THAT(error_of("[server]\n\n[hosts]\n"), HasSubstr("test.toml:3: hosts: at least one host is required"));
  EXPECT_THAT(error_of("hosts = 1\n"), HasSubstr("test.toml:1: hosts: expected a table, got an integer"));
  EXPECT_THAT(error_of("[hosts]\nlocalhost = true\n"),
              HasSubstr("test.toml:2: hosts.localhost: expected a table, got a boolean"));
}

TEST(Config, UnknownKeysAreReportedEverywhereButModules) {
  std::string e = error_of(R"(serverr = 1
[server]
dat_dir = "x"
[c2s]
[[c2s.listen]]
prot = 5222
[c2s.limits]
max_stanzas = 1
[hosts.localhost]
admin = []
[modules.muc]
anything = "goes"
)");
  EXPECT_THAT(e, HasSubstr("test.toml:1: serverr: unknown key"));
  EXPECT_THAT(e, HasSubstr("test.toml:3: server.dat_dir: unknown key"));
  EXPECT_THAT(e, HasSubstr("test.toml:6: c2s.listen[0].prot: unknown key"));
  EXPECT_THAT(e, HasSubstr("test.toml:8: c2s.limits.max_stanzas: unknown key"));
  EXPECT_THAT(e, HasSubstr("test.toml:10: hosts.localhost.admin: unknown key"));
  EXPECT_THAT(e, ::testing::Not(HasSubstr("anything")));
}

TEST(Config, AllErrorsAreReportedTogetherInFileOrder) {
  std::string e = error_of(R"([server]
threads = -1
colour = "blue"
[log]
level = "loud"
[hosts."LocalHost"]
[hosts."localhost"]
)");
  EXPECT_EQ(lines_of(e), (std::vector<std::string>{
                             "test.toml:2: server.threads: out of range: -1 (allowed 0..256)",
                             "test.toml:3: server.colour: unknown key",
                             "test.toml:5: log.level: unknown level \"loud\" (allowed: debug, info, warn, error)",
                             "test.toml:7: hosts.localhost: duplicate host \"localhost\" (same as \"LocalHost\" at line 6)",
                         }));
}

TEST(Config, DuplicateHostAfterNormalization) {
  std::string e = error_of("[hosts.\"LocalHost\"]\nadmins = []\n[hosts.\"localhost\"]\n");
  EXPECT_EQ(e, "test.toml:3: hosts.localhost: duplicate host \"localhost\" (same as \"LocalHost\" at line 1)");
  // Still found when the first one has problems of its own.
  e = error_of("[hosts.\"example.com\"]\ncertificate = \"a.pem\"\n[hosts.\"Example.COM\"]\n");
  EXPECT_THAT(e, HasSubstr("test.toml:3: hosts.\"Example.COM\": duplicate host \"example.com\" (same as \"example.com\" at line 1)"));
}

TEST(Config, SyntaxErrorHasLineAndColumn) {
  std::string e = error_of("[server]\nthreads = 1\ndata_dir = = \"x\"\n[hosts.localhost]\n");
  EXPECT_EQ(e.rfind("test.toml:3:12: ", 0), 0u) << e;
  EXPECT_EQ(lines_of(e).size(), 1u);
}

TEST(Config, LoadNamesTheFileInErrors) {
  TempFile file("[server]\nthreads = \"x\"\n[hosts.localhost]\n");
  try {
    load(file.path());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), file.path() + ":2: server.threads: expected an integer, got a string");
  }
}

TEST(Config, LoadReadsAFile) {
  TempFile file("[hosts.\"example.com\"]\n");
  Config c = load(file.path());
  EXPECT_EQ(c.source_path, file.path());
  ASSERT_EQ(c.hosts.size(), 1u);
  EXPECT_EQ(c.hosts[0].domain, "example.com");
}

TEST(Config, MissingFileCannotBeRead) {
  TempFile file("");
  std::string missing = file.dir() + "/absent.toml";
  try {
    load(missing);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read: No such file or directory");
  }
  try {
    load(file.dir());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), file.dir() + ": cannot read: Is a directory");
  }
}

TEST(Config, ModuleSettingsAreKeptAsIs) {
  Config c = parse(R"([hosts.localhost]
[modules.muc]
max_rooms = 10
default_room = { persistent = true, history = 20 }
[modules.offline]
limits = [1, "two"]
)", "test.toml");
  ASSERT_NE(c.module_settings, nullptr);
  const toml::table& m = *c.module_settings;
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["muc"]["max_rooms"].value<int>(), 10);
  EXPECT_EQ(m["muc"]["default_room"]["persistent"].value<bool>(), true);
  EXPECT_EQ(m["muc"]["default_room"]["history"].value<int>(), 20);
  EXPECT_EQ(m["offline"]["limits"][1].value<std::string>(), "two");
  // Kept with its position, so a module can report errors the same way.
  EXPECT_EQ(m["muc"]["max_rooms"].node()->source().begin.line, 3u);
  EXPECT_EQ(*m["muc"]["max_rooms"].node()->source().path, "test.toml");
}

TEST(Config, ModuleSettingsMustBeTables) {
  EXPECT_THAT(error_of("modules = 1\n[hosts.localhost]\n"),
              HasSubstr("test.toml:1: modules: expected a table, got an integer"));
  EXPECT_THAT(error_of("[modules]\nmuc = 1\n[hosts.localhost]\n"),
              HasSubstr("test.toml:2: modules.muc: expected a table, got an integer"));
}

}  // namespace
}  // namespace xmppd::config

// xmppctl: administers an xmppd installation through its config and database. Safe to run
// beside a running server: SQLite's locks and busy timeout arbitrate the shared file.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <xmppd/jid.hpp>

#include "auth/scram.hpp"
#include "config/config.hpp"
#include "storage/storage.hpp"

namespace {

namespace fs = std::filesystem;
using namespace xmppd;

constexpr int kOk = 0;
constexpr int kError = 1;
constexpr int kUsage = 2;

constexpr const char* kDefaultConfig = "config/xmppd.toml";

constexpr const char* kUsageText =
    "usage: xmppctl [--config FILE] <command>\n"
    "commands:\n"
    "  adduser JID [--password P]   create an account (password prompted if not given)\n"
    "  deluser JID                  delete an account\n"
    "  passwd JID [--password P]    change an account's password\n"
    "  listusers [DOMAIN]           list the accounts of one host, or of all hosts\n"
    "  check-config                 load and validate the config\n"
    "FILE defaults to config/xmppd.toml if it exists, else the built-in defaults.\n"
    "Without --password the password is read twice from the terminal, or as one line\n"
    "from standard input when that is not a terminal.\n";

// Bad command line: exit 2 with the usage text.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// The command could not be done: exit 1.
struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Every SCRAM mechanism gets a secret, so enabling one later needs no password reset.

struct CommandArgs {
  std::vector<std::string> positional;
  std::optional<std::string> password;
};

CommandArgs parse_command_args(std::span<const std::string_view> args, bool takes_password) {
  CommandArgs out;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (takes_password && args[i] == "--password") {
      if (i + 1 == args.size()) throw UsageError("--password needs a value");
      out.password = std::string(args[++i]);
    } else if (args[i].starts_with("--")) {
      throw UsageError("unknown option " + std::string(args[i]));
    } else {
      out.positional.emplace_back(args[i]);
    }
  }
  return out;
}

config::Config load_config(const std::optional<std::string>& path) {
  if (path) return config::load(*path);
  if (fs::exists(kDefaultConfig)) return config::load(kDefaultConfig);
  return config::defaults();
}

std::unique_ptr<storage::Storage> open_storage(const config::Config& cfg) {
  if (!cfg.data_dir.empty()) fs::create_directories(cfg.data_dir);
  std::string path = cfg.database_path();
  // [storage] database may point outside data_dir.
  if (auto parent = fs::path(path).parent_path(); !parent.empty()) fs::create_directories(parent);
  return storage::open_sqlite(path);
}

// A bare user@domain JID on one of the configured hosts.
Jid account_jid(const config::Config& cfg, const std::string& text) {
  auto jid = Jid::parse(text);
  if (!jid) throw Failure("invalid JID: " + text);
  if (jid->node().empty() || !jid->is_bare())
    throw Failure("not an account JID (expected user@domain): " + text);
  if (!cfg.host(jid->domain()))
    throw Failure(jid->domain() + " is not a host in " + cfg.source_path);
  return *jid;
}

// One line typed without echo.
std::string prompt_hidden(const char* prompt) {
  std::cerr << prompt << std::flush;
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios quiet = saved;
  quiet.c_lflag &= ~tcflag_t(ECHO);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  std::string line;
  bool ok = bool(std::getline(std::cin, line));
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
  std::cerr << '\n';
  if (!ok) throw Failure("no password given");
  return line;
}

std::string read_password(const std::optional<std::string>& given) {
  std::string password;
  if (given) {
    password = *given;
  } else if (isatty(STDIN_FILENO)) {
    password = prompt_hidden("Password: ");
    if (prompt_hidden("Retype password: ") != password) throw Failure("passwords do not match");
  } else {
    if (!std::getline(std::cin, password)) throw Failure("no password on standard input");
    if (password.ends_with('\r')) password.pop_back();
  }
  if (password.empty()) throw Failure("empty password");
  return password;
}

storage::Secrets make_secrets(const config::Config& cfg, const std::string& password) {
  auto secrets = auth::make_secrets(password, cfg.scram_iterations);
  if (!secrets) throw Failure("the password contains characters SASLprep does not allow");
  return *secrets;
}

int adduser(const config::Config& cfg, const CommandArgs& args) {
  Jid jid = account_jid(cfg, args.positional[0]);
  auto store = open_storage(cfg);
  auto& accounts = store->accounts();
  // Checked before asking for the password; create() still settles a race.
  if (accounts.exists(jid.node(), jid.domain())) throw Failure(jid.bare_str() + " already exists");
  auto secrets = make_secrets(cfg, read_password(args.password));
  if (!accounts.create(jid.node(), jid.domain(), secrets))
    throw Failure(jid.bare_str() + " already exists");
  std::cout << "added " << jid.bare_str() << '\n';
  return kOk;
}

int deluser(const config::Config& cfg, const CommandArgs& args) {
  Jid jid = account_jid(cfg, args.positional[0]);
  auto store = open_storage(cfg);
  if (!store->accounts().remove(jid.node(), jid.domain()))
    throw Failure("no such user: " + jid.bare_str());
  std::cout << "deleted " << jid.bare_str() << '\n';
  return kOk;
}

int passwd(const config::Config& cfg, const CommandArgs& args) {
  Jid jid = account_jid(cfg, args.positional[0]);
  auto store = open_storage(cfg);
  auto& accounts = store->accounts();
  if (!accounts.exists(jid.node(), jid.domain())) throw Failure("no such user: " + jid.bare_str());
  auto secrets = make_secrets(cfg, read_password(args.password));
  if (!accounts.set_secrets(jid.node(), jid.domain(), secrets))
    throw Failure("no such user: " + jid.bare_str());
  std::cout << "changed the password of " << jid.bare_str() << '\n';
  return kOk;
}

int listusers(const config::Config& cfg, const CommandArgs& args) {
  std::vector<std::string> domains;
  if (args.positional.empty()) {
    for (const auto& host : cfg.hosts) domains.push_back(host.domain);
  } else {
    const config::VirtualHost* host = cfg.host(args.positional[0]);
    if (!host) throw Failure(args.positional[0] + " is not a host in " + cfg.source_path);
    domains.push_back(host->domain);
  }
  auto store = open_storage(cfg);
  for (const auto& domain : domains)
    for (const auto& user : store->accounts().list(domain)) std::cout << user << '@' << domain << '\n';
  return kOk;
}

int check_config(const config::Config& cfg, const CommandArgs&) {
  std::cout << "config OK: " << cfg.source_path << '\n';  // load_config threw if it was not
  return kOk;
}

struct Command {
  std::string_view name;
  int (*run)(const config::Config&, const CommandArgs&);
  std::size_t min_args;
  std::size_t max_args;
  bool takes_password;
};

constexpr Command kCommands[] = {
    {"adduser", adduser, 1, 1, true},     {"deluser", deluser, 1, 1, false},
    {"passwd", passwd, 1, 1, true},       {"listusers", listusers, 0, 1, false},
    {"check-config", check_config, 0, 0, false},
};

int run(std::span<const std::string_view> args) {
  std::optional<std::string> config_path;
  std::size_t i = 0;
  for (; i < args.size() && args[i].starts_with("-"); ++i) {
    if (args[i] == "--config") {
      if (i + 1 == args.size()) throw UsageError("--config needs a file");
      config_path = std::string(args[++i]);
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kUsageText;
      return kOk;
    } else {
      throw UsageError("unknown option " + std::string(args[i]));
    }
  }
  if (i == args.size()) throw UsageError("no command given");
  std::string_view command = args[i];
  auto rest = args.subspan(i + 1);

  const Command* found = std::find_if(std::begin(kCommands), std::end(kCommands),
                                      [&](const Command& c) { return c.name == command; });
  if (found == std::end(kCommands)) throw UsageError("unknown command " + std::string(command));
  // The whole command line is checked before the config is read.
  CommandArgs command_args = parse_command_args(rest, found->takes_password);
  if (command_args.positional.size() < found->min_args || command_args.positional.size() > found->max_args)
    throw UsageError("wrong number of arguments to " + std::string(command));
  return found->run(load_config(config_path), command_args);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  try {
    return run(args);
  } catch (const UsageError& e) {
    std::cerr << "xmppctl: " << e.what() << '\n' << kUsageText;
    return kUsage;
  } catch (const config::ConfigError& e) {
    std::cerr << e.what() << '\n';  // already "file:line: key: message", one per line
    return kError;
  } catch (const std::exception& e) {
    std::cerr << "xmppctl: " << e.what() << '\n';
    return kError;
  }
}

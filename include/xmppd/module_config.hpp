// A module's own settings: its [modules.<name>] table, read through typed accessors that
// validate as they read. Any key the module never asks for is reported as unknown.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace toml { inline namespace v3 { class table; class node; } }

namespace xmppd {

// A bad module setting: what() is "file:line: modules.<name>.<key>: message".
struct ModuleConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ModuleConfig {
 public:
  ModuleConfig() = default;  // no settings: every accessor returns its fallback
  ModuleConfig(std::shared_ptr<const toml::table> modules, std::string module, std::string file);

  std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                       std::int64_t max) const;
  bool boolean(std::string_view key, bool fallback) const;
  std::string string(std::string_view key, std::string fallback) const;
  std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback) const;
  // A length of time: a number with a unit ("90s", "30m", "12h", "7d", "2w", "1y") or
  // "never" (returned as zero). Appended: existing members keep their places.
  std::chrono::seconds duration(std::string_view key, std::chrono::seconds fallback) const;
  // For a value the accessors accept but the module cannot use (a domain that is not one,
  // a word not among those allowed): throws ModuleConfigError naming file, line and key.
  [[noreturn]] void reject(std::string_view key, const std::string& why) const { fail(key, why); }
  // Whether the key is set (for keys that are only refused, such as ones that moved).
  bool has(std::string_view key) const { return lookup(key) != nullptr; }

  // Throws ModuleConfigError naming every key present that no accessor asked for.
  void check_no_unknown_keys() const;

 private:
  const toml::table* table() const;
  // The key's node, if present; remembers that the module asked for it.
  const toml::node* lookup(std::string_view key) const;
  [[noreturn]] void fail(std::string_view key, const std::string& message) const;

  std::shared_ptr<const toml::table> modules_;
  std::string module_;
  std::string file_;
  mutable std::mutex mutex_;  // accessors may be called from any thread
  mutable std::set<std::string, std::less<>> asked_;
};

}  // namespace xmppd

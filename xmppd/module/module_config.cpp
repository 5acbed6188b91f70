#include <xmppd/module_config.hpp>

#include <toml++/toml.h>

#include <charconv>
#include <cstdint>
#include <utility>

namespace xmppd {

ModuleConfig::ModuleConfig(std::shared_ptr<const toml::table> modules, std::string module, std::string file)
    : modules_(std::move(modules)), module_(std::move(module)), file_(std::move(file)) {}

const toml::table* ModuleConfig::table() const {
  if (!modules_) return nullptr;
  return modules_->get_as<toml::table>(module_);
}

const toml::node* ModuleConfig::lookup(std::string_view key) const {
  {
    std::lock_guard lock(mutex_);
    asked_.emplace(key);
  }
  const toml::table* t = table();
  return t ? t->get(key) : nullptr;
}

void ModuleConfig::fail(std::string_view key, const std::string& message) const {
  const toml::table* t = table();
  const toml::node* node = t ? t->get(key) : nullptr;
  auto line = node ? node->source().begin.line : (t ? t->source().begin.line : 0);
  throw ModuleConfigError(file_ + ":" + std::to_string(line) + ": modules." + module_ + "." +
                          std::string(key) + ": " + message);
}

std::int64_t ModuleConfig::integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                                   std::int64_t max) const {
  const toml::node* node = lookup(key);
  if (!node) return fallback;
  auto value = node->value<std::int64_t>();
  if (!node->is_integer() || !value) fail(key, "expected an integer");
  if (*value < min || *value > max)
    fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
  return *value;
}

bool ModuleConfig::boolean(std::string_view key, bool fallback) const {
  const toml::node* node = lookup(key);
  if (!node) return fallback;
  if (!node->is_boolean()) fail(key, "expected true or false");
  return *node->value<bool>();
}

std::string ModuleConfig::string(std::string_view key, std::string fallback) const {
  const toml::node* node = lookup(key);
  if (!node) return fallback;
  if (!node->is_string()) fail(key, "expected a string");
  return *node->value<std::string>();
}

std::vector<std::string> ModuleConfig::strings(std::string_view key, std::vector<std::string> fallback) const {
  const toml::node* node = lookup(key);
  if (!node) return fallback;
  const toml::array* array = node->as_array();
  if (!array) fail(key, "expected an array of strings");
  std::vector<std::string> out;
  for (const toml::node& item : *array) {
    if (!item.is_string()) fail(key, "expected an array of strings");
    out.push_back(*item.value<std::string>());
  }
  return out;
}

std::chrono::seconds ModuleConfig::duration(std::string_view key, std::chrono::seconds fallback) const {
  const toml::node* node = lookup(key);
  if (!node) return fallback;
  const char* expected = "expected a duration such as \"30d\" (units s, m, h, d, w, y) or \"never\"";
  if (!node->is_string()) fail(key, expected);
  std::string text = *node->value<std::string>();
  if (text == "never") return std::chrono::seconds(0);
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n <= 0 || end + 1 != text.data() + text.size()) fail(key, expected);
  static constexpr std::pair<char, std::int64_t> kUnits[] = {
      {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}, {'y', 365 * 86400}};
  for (auto [unit, seconds] : kUnits)
    if (*end == unit) {
      if (n > INT64_MAX / seconds / 1'000'000) fail(key, "too long");
      return std::chrono::seconds(n * seconds);
    }
  fail(key, expected);
}

void ModuleConfig::check_no_unknown_keys() const {
  const toml::table* t = table();
  if (!t) return;
  std::lock_guard lock(mutex_);
  for (const auto& [key, node] : *t)
    if (!asked_.contains(key.str())) fail(key.str(), "unknown key");
}

}  // namespace xmppd

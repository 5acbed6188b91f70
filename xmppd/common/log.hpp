// Leveled logging to stderr and, optionally, a file.
// Usage: log::info("listening on ", address, ':', port);
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace xmppd::log {

enum class Level { debug, info, warn, error };

// Returns false (and changes nothing) if `name` is not debug/info/warn/error.
bool parse_level(std::string_view name, Level& out);
void set_level(Level);
// Also write to `path` (appended). Returns false with `error` set if it cannot be opened.
bool set_file(const std::string& path, std::string& error);
bool enabled(Level);
void write(Level, std::string_view message);

template <class... Args>
void at(Level level, const Args&... args) {
  if (!enabled(level)) return;
  std::ostringstream s;
  (s << ... << args);
  write(level, s.str());
}
template <class... Args> void debug(const Args&... a) { at(Level::debug, a...); }
template <class... Args> void info(const Args&... a) { at(Level::info, a...); }
template <class... Args> void warn(const Args&... a) { at(Level::warn, a...); }
template <class... Args> void error(const Args&... a) { at(Level::error, a...); }

}  // namespace xmppd::log

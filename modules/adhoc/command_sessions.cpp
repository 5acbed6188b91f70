#include "command_sessions.hpp"

#include <openssl/rand.h>

namespace xmppd::adhoc {
namespace {

// An abandoned session (the admin never submitted the form) is forgotten after this.
constexpr auto kSessionLifetime = std::chrono::minutes(10);

std::string random_id() {
  unsigned char raw[12];
  RAND_bytes(raw, sizeof raw);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char c : raw) {
    id += hex[c >> 4];
    id += hex[c & 15];
  }
  return id;
}

}  // namespace

std::string CommandSessions::open(const std::string& node, const Jid& owner) {
  auto now = std::chrono::steady_clock::now();
  std::string id = random_id();
  std::lock_guard lock(mutex_);
  std::erase_if(sessions_, [&](const auto& entry) { return now - entry.second.opened > kSessionLifetime; });
  sessions_[id] = Session{node, owner, now};
  return id;
}

bool CommandSessions::close(const std::string& id, const std::string& node, const Jid& owner) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.node != node || !(it->second.owner == owner)) return false;
  sessions_.erase(it);
  return true;
}

}  // namespace xmppd::adhoc

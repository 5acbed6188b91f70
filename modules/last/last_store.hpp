// The last_logout table: when each account's last session ended.
// Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "storage/database.hpp"

namespace last {

class LastStore {
 public:
  // Creates or upgrades the table; then prepares the statements.
  explicit LastStore(xmppd::storage::Database& db);

  struct Logout {
    std::int64_t at;     // Unix time, seconds
    std::string status;  // of the unavailable presence it left with; empty for none
  };
  // The account's last logout, if it ever had one.
  std::optional<Logout> last_logout(const std::string& user, const std::string& domain);
  void set_logout(const std::string& user, const std::string& domain, const Logout& logout);

 private:
  xmppd::storage::Statement select_;
  xmppd::storage::Statement upsert_;
};

}  // namespace last

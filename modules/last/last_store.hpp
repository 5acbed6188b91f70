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

  // Unix time (seconds) of the account's last logout, if it ever had one.
  std::optional<std::int64_t> logout_time(const std::string& user, const std::string& domain);
  void set_logout_time(const std::string& user, const std::string& domain, std::int64_t unix_time);

 private:
  xmppd::storage::Statement select_;
  xmppd::storage::Statement upsert_;
};

}  // namespace last

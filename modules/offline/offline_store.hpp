// The offline_messages table: stored messages per account, oldest first.
// Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace offline {

class OfflineStore {
 public:
  // Creates or upgrades the table; then prepares the statements.
  explicit OfflineStore(xmppd::storage::Database& db);

  // Appends `stanza` unless the account already holds `max_messages`; false if it does.
  bool add(const std::string& user, const std::string& domain, const std::string& stanza,
           std::int64_t max_messages);
  // Removes and returns every stored message of the account, in arrival order.
  std::vector<std::string> take_all(const std::string& user, const std::string& domain);

 private:
  xmppd::storage::Database& db_;
  xmppd::storage::Statement count_;
  xmppd::storage::Statement insert_;
  xmppd::storage::Statement select_;
  xmppd::storage::Statement delete_;
};

}  // namespace offline

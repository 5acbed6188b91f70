// The persistent blocklists: one row per (account, blocked JID). Blocking SQLite work:
// use only on the storage thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "storage/database.hpp"

namespace xmppd::blocking {

// A user's whole blocklist as stored after some operation. `version` grows with every
// operation, in the order the storage thread ran them, so that a network thread can tell
// which of two snapshots is the newer one.
struct BlocklistSnapshot {
  std::vector<std::string> jids;
  std::uint64_t version = 0;
};

class BlockStore {
 public:
  explicit BlockStore(storage::Database& db);
  static void migrate(storage::Database& db);

  BlocklistSnapshot list(const std::string& user, const std::string& domain);
  // Every account's list: (bare JID, blocked JID) pairs, grouped by account.
  std::vector<std::pair<std::string, std::string>> all();
  BlocklistSnapshot add(const std::string& user, const std::string& domain, const std::vector<std::string>& jids);
  // An empty `jids` removes every entry.
  BlocklistSnapshot remove(const std::string& user, const std::string& domain, const std::vector<std::string>& jids);

 private:
  BlocklistSnapshot snapshot(const std::string& user, const std::string& domain);

  storage::Database& db_;
  storage::Statement select_;
  storage::Statement insert_;
  storage::Statement delete_one_;
  storage::Statement delete_all_;
  std::uint64_t version_ = 0;
};

}  // namespace xmppd::blocking

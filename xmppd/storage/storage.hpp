// The storage backend: one object per concern. Blocking methods, run on the storage thread.
#pragma once

#include <memory>
#include <string>

#include "storage/account_store.hpp"
#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace xmppd::storage {

class Storage {
 public:
  virtual ~Storage() = default;
  virtual AccountStore& accounts() = 0;
  virtual RosterStore& roster() = 0;
  // The underlying SQLite database, for stores that modules add with their own migrations.
  virtual Database& database() = 0;
};

// The embedded default: one SQLite file. Runs all migrations on open.
std::unique_ptr<Storage> open_sqlite(const std::string& path);

}  // namespace xmppd::storage

#include "last_store.hpp"

#include <vector>

namespace last {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE last_logout(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         logout_at INTEGER NOT NULL,  -- Unix time, seconds
         PRIMARY KEY(domain, username),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;)",
    // XEP-0012 §4: the status text of the last unavailable presence.
    "ALTER TABLE last_logout ADD COLUMN status TEXT NOT NULL DEFAULT ''",
};

Database& migrated(Database& db) {
  db.migrate("last", kMigrations);
  return db;
}

}  // namespace

LastStore::LastStore(Database& db)
    : select_(migrated(db), "SELECT logout_at, status FROM last_logout WHERE domain = ?1 AND username = ?2"),
      // An account deleted while its last session was closing has nothing left to refer to.
      upsert_(db, "INSERT INTO last_logout(domain, username, logout_at, status) SELECT ?1, ?2, ?3, ?4 "
                  "WHERE EXISTS(SELECT 1 FROM accounts WHERE domain = ?1 AND username = ?2) "
                  "ON CONFLICT(domain, username) DO UPDATE SET logout_at = excluded.logout_at, "
                  "status = excluded.status") {}

std::optional<LastStore::Logout> LastStore::last_logout(const std::string& user, const std::string& domain) {
  xmppd::storage::StatementUse reset(select_);
  select_.bind(1, domain).bind(2, user);
  if (!select_.step()) return std::nullopt;
  return Logout{select_.column_int(0), select_.column_text(1)};
}

void LastStore::set_logout(const std::string& user, const std::string& domain, const Logout& logout) {
  xmppd::storage::StatementUse reset(upsert_);
  upsert_.bind(1, domain).bind(2, user).bind(3, logout.at).bind(4, logout.status).exec();
}

}  // namespace last

#include "deleted_names.hpp"

namespace xmppd::registration {
namespace {

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE deleted_accounts(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         deleted_at INTEGER NOT NULL,   -- seconds since the epoch
         PRIMARY KEY(domain, username)
       ) WITHOUT ROWID;
       CREATE TRIGGER deleted_accounts_remember AFTER DELETE ON accounts BEGIN
         INSERT OR REPLACE INTO deleted_accounts(domain, username, deleted_at)
           VALUES(OLD.domain, OLD.username, CAST(strftime('%s', 'now') AS INTEGER));
       END;
       -- An admin who creates the account again (xmppctl adduser) lifts the hold.
       CREATE TRIGGER deleted_accounts_reused AFTER INSERT ON accounts BEGIN
         DELETE FROM deleted_accounts WHERE domain = NEW.domain AND username = NEW.username;
       END;)",
};

storage::Database& migrated(storage::Database& db) {
  db.migrate("register", kMigrations);
  return db;
}

}  // namespace

DeletedNames::DeletedNames(storage::Database& db) : db_(migrated(db)) {}

bool DeletedNames::held(const std::string& user, const std::string& domain, std::chrono::seconds hold) {
  if (hold.count() <= 0) return false;
  storage::StatementUse s(db_.prepared(
      "SELECT 1 FROM deleted_accounts WHERE domain = ?1 AND username = ?2 AND "
      "deleted_at > CAST(strftime('%s', 'now') AS INTEGER) - ?3"));
  s->bind(1, domain).bind(2, user).bind(3, std::int64_t(hold.count()));
  return s->step();
}

}  // namespace xmppd::registration

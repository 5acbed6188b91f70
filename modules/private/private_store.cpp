#include "private_store.hpp"

namespace private_storage {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE private_xml(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         name TEXT NOT NULL,
         namespace TEXT NOT NULL,
         xml TEXT NOT NULL,
         PRIMARY KEY(domain, username, namespace, name),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;)",
};

Database& migrated(Database& db) {
  db.migrate("private", kMigrations);
  return db;
}

}  // namespace

PrivateStore::PrivateStore(Database& db)
    : db_(migrated(db)),
      select_(db, "SELECT xml FROM private_xml WHERE domain = ?1 AND username = ?2 AND namespace = ?3 AND name = ?4"),
      upsert_(db, "INSERT INTO private_xml(domain, username, namespace, name, xml) VALUES(?1, ?2, ?3, ?4, ?5) "
                  "ON CONFLICT(domain, username, namespace, name) DO UPDATE SET xml = excluded.xml"),
      total_(db, "SELECT COALESCE(SUM(LENGTH(CAST(xml AS BLOB))), 0) FROM private_xml "
                 "WHERE domain = ?1 AND username = ?2") {}

std::optional<std::string> PrivateStore::get(const std::string& user, const std::string& domain,
                                             const std::string& name, const std::string& ns) {
  xmppd::storage::StatementUse reset(select_);
  select_.bind(1, domain).bind(2, user).bind(3, ns).bind(4, name);
  if (!select_.step()) return std::nullopt;
  return select_.column_text(0);
}

bool PrivateStore::set(const std::string& user, const std::string& domain, const std::vector<Fragment>& fragments,
                       std::int64_t max_bytes) {
  Database::Transaction tx(db_);
  for (const Fragment& f : fragments) {
    xmppd::storage::StatementUse reset(upsert_);
    upsert_.bind(1, domain).bind(2, user).bind(3, f.ns).bind(4, f.name).bind(5, f.xml).exec();
  }
  // Measured after the replacement, so replacing a fragment counts only its new size.
  std::int64_t total = 0;
  {
    xmppd::storage::StatementUse reset(total_);
    total_.bind(1, domain).bind(2, user).step();
    total = total_.column_int(0);
  }
  if (total > max_bytes) return false;  // rolled back
  tx.commit();
  return true;
}

}  // namespace private_storage

#include "push_store.hpp"

namespace push {
namespace {

using xmppd::storage::Database;
using xmppd::storage::StatementUse;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE push_registrations(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         service TEXT NOT NULL,
         node TEXT NOT NULL,
         options TEXT NOT NULL,  -- publish-options form, serialized; '' for none
         PRIMARY KEY(domain, username, service, node),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       );)",
};

Database& migrated(Database& db) {
  db.migrate("push", kMigrations);
  return db;
}

}  // namespace

PushStore::PushStore(Database& db)
    : db_(migrated(db)),
      count_(db, "SELECT COUNT(*) FROM push_registrations WHERE domain = ?1 AND username = ?2 "
                 "AND NOT (service = ?3 AND node = ?4)"),
      upsert_(db, "INSERT OR REPLACE INTO push_registrations(domain, username, service, node, options) "
                  "VALUES(?1, ?2, ?3, ?4, ?5)"),
      remove_node_(db, "DELETE FROM push_registrations WHERE domain = ?1 AND username = ?2 AND service = ?3 "
                       "AND node = ?4"),
      remove_service_(db, "DELETE FROM push_registrations WHERE domain = ?1 AND username = ?2 AND service = ?3"),
      select_(db, "SELECT service, node, options FROM push_registrations WHERE domain = ?1 AND username = ?2") {}

bool PushStore::add(const std::string& user, const std::string& domain, const Registration& r, std::int64_t max) {
  Database::Transaction tx(db_);
  {
    StatementUse use(count_);
    count_.bind(1, domain).bind(2, user).bind(3, r.service).bind(4, r.node).step();
    if (count_.column_int(0) >= max) return false;
  }
  {
    StatementUse use(upsert_);
    upsert_.bind(1, domain).bind(2, user).bind(3, r.service).bind(4, r.node).bind(5, r.options).exec();
  }
  tx.commit();
  return true;
}

void PushStore::remove(const std::string& user, const std::string& domain, const std::string& service,
                       const std::string& node) {
  auto& s = node.empty() ? remove_service_ : remove_node_;
  StatementUse use(s);
  s.bind(1, domain).bind(2, user).bind(3, service);
  if (!node.empty()) s.bind(4, node);
  s.exec();
}

std::vector<Registration> PushStore::list(const std::string& user, const std::string& domain) {
  StatementUse use(select_);
  select_.bind(1, domain).bind(2, user);
  std::vector<Registration> out;
  while (select_.step()) out.push_back({select_.column_text(0), select_.column_text(1), select_.column_text(2)});
  return out;
}

}  // namespace push

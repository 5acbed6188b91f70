#include "directory_store.hpp"

#include "vcard_store.hpp"

namespace search {
namespace {

using xmppd::storage::Database;
using xmppd::storage::StatementUse;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE directory_listing(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         listed INTEGER NOT NULL,
         PRIMARY KEY(domain, username),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;)",
};

Database& migrated(Database& db) {
  vcard::VcardStore vcards(db);  // the vcards table searched, made if the vcard module never ran
  db.migrate("search", kMigrations);
  return db;
}

}  // namespace

DirectoryStore::DirectoryStore(Database& db) : db_(migrated(db)) {}

std::optional<bool> DirectoryStore::listed(const std::string& user, const std::string& domain) {
  StatementUse s(db_.prepared("SELECT listed FROM directory_listing WHERE domain = ?1 AND username = ?2"));
  s->bind(1, domain).bind(2, user);
  if (!s->step()) return std::nullopt;
  return s->column_int(0) != 0;
}

void DirectoryStore::set_listed(const std::string& user, const std::string& domain, bool listed) {
  StatementUse s(db_.prepared("INSERT INTO directory_listing(domain, username, listed) VALUES(?1, ?2, ?3) "
                              "ON CONFLICT(domain, username) DO UPDATE SET listed = excluded.listed"));
  s->bind(1, domain).bind(2, user).bind(3, std::int64_t(listed)).exec();
}

std::vector<Listed> DirectoryStore::listed_accounts(const std::string& domain, bool by_default) {
  StatementUse s(db_.prepared(
      "SELECT a.username, COALESCE(v.vcard, '') FROM accounts a "
      "LEFT JOIN directory_listing d ON d.domain = a.domain AND d.username = a.username "
      "LEFT JOIN vcards v ON v.domain = a.domain AND v.username = a.username "
      "WHERE a.domain = ?1 AND COALESCE(d.listed, ?2) = 1 ORDER BY a.username"));
  s->bind(1, domain).bind(2, std::int64_t(by_default));
  std::vector<Listed> out;
  while (s->step()) out.push_back({s->column_text(0), s->column_text(1)});
  return out;
}

}  // namespace search

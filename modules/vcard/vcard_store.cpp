#include "vcard_store.hpp"

#include <vector>

namespace vcard {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE vcards(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         vcard TEXT NOT NULL,  -- the serialized <vCard xmlns='vcard-temp'/>
         PRIMARY KEY(domain, username),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;)",
};

Database& migrated(Database& db) {
  db.migrate("vcard", kMigrations);
  return db;
}

}  // namespace

VcardStore::VcardStore(Database& db)
    : select_(migrated(db), "SELECT vcard FROM vcards WHERE domain = ?1 AND username = ?2"),
      upsert_(db, "INSERT INTO vcards(domain, username, vcard) VALUES(?1, ?2, ?3) "
                  "ON CONFLICT(domain, username) DO UPDATE SET vcard = excluded.vcard") {}

std::optional<std::string> VcardStore::get(const std::string& user, const std::string& domain) {
  xmppd::storage::StatementUse reset(select_);
  select_.bind(1, domain).bind(2, user);
  if (!select_.step()) return std::nullopt;
  return select_.column_text(0);
}

void VcardStore::set(const std::string& user, const std::string& domain, const std::string& vcard) {
  xmppd::storage::StatementUse reset(upsert_);
  upsert_.bind(1, domain).bind(2, user).bind(3, vcard).exec();  // autocommit: durable on return
}

}  // namespace vcard

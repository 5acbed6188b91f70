#include "offline_store.hpp"

#include <chrono>

namespace offline {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE offline_messages(
         id INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         stored_at INTEGER NOT NULL,  -- Unix time, seconds
         stanza TEXT NOT NULL,        -- serialized in the jabber:client namespace
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       );
       CREATE INDEX offline_messages_by_account ON offline_messages(domain, username, id);)",
    // For XEP-0424 retraction: who sent a message and what it is called.
    R"(ALTER TABLE offline_messages ADD COLUMN sender TEXT NOT NULL DEFAULT '';
       ALTER TABLE offline_messages ADD COLUMN message_id TEXT NOT NULL DEFAULT '';)",
};

Database& migrated(Database& db) {
  db.migrate("offline", kMigrations);
  return db;
}

}  // namespace

OfflineStore::OfflineStore(Database& db)
    : db_(migrated(db)),
      count_(db, "SELECT COUNT(*) FROM offline_messages WHERE domain = ?1 AND username = ?2"),
      insert_(db, "INSERT INTO offline_messages(domain, username, stored_at, stanza, sender, message_id) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"),
      select_(db, "SELECT id, stanza FROM offline_messages WHERE domain = ?1 AND username = ?2 ORDER BY id"),
      delete_(db, "DELETE FROM offline_messages WHERE domain = ?1 AND username = ?2 AND id <= ?3"),
      retract_(db, "DELETE FROM offline_messages WHERE domain = ?1 AND username = ?2 AND sender = ?3 "
                   "AND message_id = ?4") {}

std::vector<bool> OfflineStore::add_all(const std::vector<NewMessage>& messages) {
  Database::Transaction tx(db_);
  auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch());
  std::vector<bool> stored;
  stored.reserve(messages.size());
  for (const NewMessage& m : messages) {
    if (!m.retracts.empty()) {
      xmppd::storage::StatementUse reset(retract_);
      retract_.bind(1, m.domain).bind(2, m.user).bind(3, m.sender).bind(4, m.retracts).exec();
    }
    {
      // Counted inside the transaction: the rows inserted above count against the quota.
      xmppd::storage::StatementUse reset(count_);
      count_.bind(1, m.domain).bind(2, m.user).step();
      if (count_.column_int(0) >= m.max_messages) {
        stored.push_back(false);
        continue;
      }
    }
    xmppd::storage::StatementUse reset(insert_);
    insert_.bind(1, m.domain).bind(2, m.user).bind(3, std::int64_t(now.count())).bind(4, m.stanza);
    insert_.bind(5, m.sender).bind(6, m.message_id).exec();
    stored.push_back(true);
  }
  tx.commit();
  return stored;
}

std::vector<std::string> OfflineStore::take_all(const std::string& user, const std::string& domain) {
  {
    // Every login asks, and most find nothing: look before taking the write lock.
    xmppd::storage::StatementUse reset(count_);
    count_.bind(1, domain).bind(2, user).step();
    if (count_.column_int(0) == 0) return {};
  }
  Database::Transaction tx(db_);
  std::vector<std::string> stanzas;
  std::int64_t last_id = 0;
  {
    xmppd::storage::StatementUse reset(select_);
    select_.bind(1, domain).bind(2, user);
    while (select_.step()) {
      last_id = select_.column_int(0);
      stanzas.push_back(select_.column_text(1));
    }
  }
  if (stanzas.empty()) return stanzas;
  {
    xmppd::storage::StatementUse reset(delete_);
    delete_.bind(1, domain).bind(2, user).bind(3, last_id).exec();
  }
  tx.commit();
  return stanzas;
}

}  // namespace offline

#include "block_store.hpp"

namespace xmppd::blocking {

void BlockStore::migrate(storage::Database& db) {
  db.migrate("blocking", {
      "CREATE TABLE blocklist ("
      "  domain TEXT NOT NULL, username TEXT NOT NULL, jid TEXT NOT NULL,"
      "  PRIMARY KEY (domain, username, jid),"
      "  FOREIGN KEY (domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE)",
  });
}

BlockStore::BlockStore(storage::Database& db)
    : db_(db),
      select_(db, "SELECT jid FROM blocklist WHERE domain = ?1 AND username = ?2 ORDER BY jid"),
      insert_(db, "INSERT OR IGNORE INTO blocklist (domain, username, jid) VALUES (?1, ?2, ?3)"),
      delete_one_(db, "DELETE FROM blocklist WHERE domain = ?1 AND username = ?2 AND jid = ?3"),
      delete_all_(db, "DELETE FROM blocklist WHERE domain = ?1 AND username = ?2") {}

BlocklistSnapshot BlockStore::snapshot(const std::string& user, const std::string& domain) {
  BlocklistSnapshot out;
  select_.bind(1, domain).bind(2, user);
  while (select_.step()) out.jids.push_back(select_.column_text(0));
  select_.reset();
  out.version = ++version_;
  return out;
}

BlocklistSnapshot BlockStore::list(const std::string& user, const std::string& domain) {
  return snapshot(user, domain);
}

std::vector<std::pair<std::string, std::string>> BlockStore::all() {
  storage::Statement select(db_, "SELECT username || '@' || domain, jid FROM blocklist ORDER BY domain, username");
  std::vector<std::pair<std::string, std::string>> out;
  while (select.step()) out.emplace_back(select.column_text(0), select.column_text(1));
  return out;
}

BlocklistSnapshot BlockStore::add(const std::string& user, const std::string& domain,
                                  const std::vector<std::string>& jids) {
  storage::Database::Transaction tx(db_);
  for (const auto& jid : jids) {
    insert_.bind(1, domain).bind(2, user).bind(3, jid).exec();
    insert_.reset();
  }
  tx.commit();
  return snapshot(user, domain);
}

BlocklistSnapshot BlockStore::remove(const std::string& user, const std::string& domain,
                                     const std::vector<std::string>& jids) {
  storage::Database::Transaction tx(db_);
  if (jids.empty()) {
    delete_all_.bind(1, domain).bind(2, user).exec();
    delete_all_.reset();
  }
  for (const auto& jid : jids) {
    delete_one_.bind(1, domain).bind(2, user).bind(3, jid).exec();
    delete_one_.reset();
  }
  tx.commit();
  return snapshot(user, domain);
}

}  // namespace xmppd::blocking

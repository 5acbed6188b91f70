#include "pep_store.hpp"

#include <algorithm>

namespace pep {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE pubsub_nodes(
         service TEXT NOT NULL,        -- the account's bare JID (PEP) or a service's domain
         node TEXT NOT NULL,
         config TEXT NOT NULL,         -- NodeConfig, key=value lines
         PRIMARY KEY(service, node)
       );
       CREATE TABLE pubsub_items(
         service TEXT NOT NULL,
         node TEXT NOT NULL,
         item_id TEXT NOT NULL,
         publisher TEXT NOT NULL,
         payload TEXT NOT NULL,
         seq INTEGER NOT NULL,         -- publish order: the newest has the highest
         PRIMARY KEY(service, node, item_id),
         FOREIGN KEY(service, node) REFERENCES pubsub_nodes(service, node) ON DELETE CASCADE
       );
       CREATE INDEX pubsub_items_by_seq ON pubsub_items(service, node, seq);
       -- A service is not always an account, so no foreign key: an account's nodes go with
       -- it, whoever deletes it.
       CREATE TRIGGER pubsub_account_deleted AFTER DELETE ON accounts BEGIN
         DELETE FROM pubsub_nodes WHERE service = OLD.username || '@' || OLD.domain;
       END;)",
};

Database& migrated(Database& db) {
  db.migrate("pubsub", kMigrations);
  return db;
}

std::int64_t limit_of(std::int64_t max_items, std::int64_t server_max) {
  return max_items == kMaxItems ? server_max : std::min(max_items, server_max);
}

}  // namespace

PepStore::PepStore(Database& db) : db_(migrated(db)) {}

std::optional<NodeConfig> PepStore::node(const std::string& service, const std::string& node) {
  Statement s(db_, "SELECT config FROM pubsub_nodes WHERE service = ?1 AND node = ?2");
  if (!s.bind(1, service).bind(2, node).step()) return std::nullopt;
  return deserialize(s.column_text(0));
}

std::vector<std::string> PepStore::nodes(const std::string& service) {
  Statement s(db_, "SELECT node FROM pubsub_nodes WHERE service = ?1 ORDER BY node");
  s.bind(1, service);
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.column_text(0));
  return out;
}

void PepStore::save_node(const std::string& service, const std::string& node, const NodeConfig& config,
                         std::int64_t server_max_items) {
  Database::Transaction tx(db_);
  Statement s(db_, "INSERT INTO pubsub_nodes(service, node, config) VALUES(?1, ?2, ?3) "
                   "ON CONFLICT(service, node) DO UPDATE SET config = excluded.config");
  s.bind(1, service).bind(2, node).bind(3, serialize(config)).exec();
  Statement trim(db_, "DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2 AND seq NOT IN "
                      "(SELECT seq FROM pubsub_items WHERE service = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3)");
  trim.bind(1, service).bind(2, node).bind(3, limit_of(config.max_items, server_max_items)).exec();
  tx.commit();
}

void PepStore::remove_node(const std::string& service, const std::string& node) {
  Statement s(db_, "DELETE FROM pubsub_nodes WHERE service = ?1 AND node = ?2");
  s.bind(1, service).bind(2, node).exec();
}

void PepStore::purge(const std::string& service, const std::string& node) {
  Statement s(db_, "DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2");
  s.bind(1, service).bind(2, node).exec();
}

void PepStore::publish(const std::string& service, const std::string& node, const Item& item,
                       std::int64_t max_items) {
  Database::Transaction tx(db_);
  Statement s(db_, "INSERT INTO pubsub_items(service, node, item_id, publisher, payload, seq) VALUES(?1, ?2, ?3, ?4, "
                   "?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM pubsub_items WHERE service = ?1 AND node = ?2)) "
                   "ON CONFLICT(service, node, item_id) DO UPDATE SET publisher = excluded.publisher, "
                   "payload = excluded.payload, seq = excluded.seq");
  s.bind(1, service).bind(2, node).bind(3, item.id).bind(4, item.publisher).bind(5, item.payload).exec();
  Statement trim(db_, "DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2 AND seq NOT IN "
                      "(SELECT seq FROM pubsub_items WHERE service = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3)");
  trim.bind(1, service).bind(2, node).bind(3, max_items).exec();
  tx.commit();
}

std::vector<Item> PepStore::items(const std::string& service, const std::string& node, std::int64_t max,
                                  const std::vector<std::string>& ids) {
  std::vector<Item> out;
  if (!ids.empty()) {
    Statement s(db_, "SELECT item_id, publisher, payload FROM pubsub_items WHERE service = ?1 AND node = ?2 "
                     "AND item_id = ?3");
    for (const std::string& id : ids) {
      s.bind(1, service).bind(2, node).bind(3, id);
      if (s.step()) out.push_back({s.column_text(0), s.column_text(1), s.column_text(2)});
      s.reset();
    }
    return out;
  }
  Statement s(db_, "SELECT item_id, publisher, payload FROM (SELECT item_id, publisher, payload, seq FROM pubsub_items "
                   "WHERE service = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3) ORDER BY seq ASC");
  s.bind(1, service).bind(2, node).bind(3, max > 0 ? max : INT64_MAX);
  while (s.step()) out.push_back({s.column_text(0), s.column_text(1), s.column_text(2)});
  return out;
}

bool PepStore::retract(const std::string& service, const std::string& node, const std::string& item_id) {
  Statement s(db_, "DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2 AND item_id = ?3");
  return s.bind(1, service).bind(2, node).bind(3, item_id).exec() > 0;
}

std::int64_t PepStore::node_count(const std::string& service) {
  Statement s(db_, "SELECT COUNT(*) FROM pubsub_nodes WHERE service = ?1");
  s.bind(1, service).step();
  return s.column_int(0);
}

}  // namespace pep

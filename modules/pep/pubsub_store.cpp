#include "pubsub_store.hpp"

#include <algorithm>

namespace pep {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;
using xmppd::storage::StatementUse;

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
    R"(CREATE TABLE pubsub_subscriptions(
         service TEXT NOT NULL,
         node TEXT NOT NULL,
         jid TEXT NOT NULL,            -- bare or full, as subscribed
         PRIMARY KEY(service, node, jid),
         FOREIGN KEY(service, node) REFERENCES pubsub_nodes(service, node) ON DELETE CASCADE
       );
       CREATE INDEX pubsub_subscriptions_by_jid ON pubsub_subscriptions(jid);
       CREATE TABLE pubsub_affiliations(
         service TEXT NOT NULL,
         node TEXT NOT NULL,
         jid TEXT NOT NULL,            -- bare
         affiliation TEXT NOT NULL,    -- owner, publisher, member or outcast
         PRIMARY KEY(service, node, jid),
         FOREIGN KEY(service, node) REFERENCES pubsub_nodes(service, node) ON DELETE CASCADE
       );
       CREATE INDEX pubsub_affiliations_by_jid ON pubsub_affiliations(jid);
       -- A deleted account's subscriptions and affiliations elsewhere go with it too.
       CREATE TRIGGER pubsub_account_deleted_memberships AFTER DELETE ON accounts BEGIN
         DELETE FROM pubsub_subscriptions WHERE jid = OLD.username || '@' || OLD.domain
                                             OR jid LIKE OLD.username || '@' || OLD.domain || '/%';
         DELETE FROM pubsub_affiliations WHERE jid = OLD.username || '@' || OLD.domain;
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

std::string_view name_of(Affiliation a) {
  switch (a) {
    case Affiliation::outcast: return "outcast";
    case Affiliation::none: return "none";
    case Affiliation::member: return "member";
    case Affiliation::publisher: return "publisher";
    case Affiliation::owner: return "owner";
  }
  return "none";
}

std::optional<Affiliation> affiliation_named(std::string_view name) {
  for (Affiliation a : {Affiliation::outcast, Affiliation::none, Affiliation::member, Affiliation::publisher,
                        Affiliation::owner})
    if (name_of(a) == name) return a;
  return std::nullopt;
}

PubsubStore::PubsubStore(Database& db) : db_(migrated(db)) {}

std::optional<NodeConfig> PubsubStore::node(const std::string& service, const std::string& node) {
  StatementUse s(db_.prepared("SELECT config FROM pubsub_nodes WHERE service = ?1 AND node = ?2"));
  if (!s->bind(1, service).bind(2, node).step()) return std::nullopt;
  return deserialize(s->column_text(0));
}

std::vector<std::string> PubsubStore::nodes(const std::string& service) {
  StatementUse s(db_.prepared("SELECT node FROM pubsub_nodes WHERE service = ?1 ORDER BY node"));
  s->bind(1, service);
  std::vector<std::string> out;
  while (s->step()) out.push_back(s->column_text(0));
  return out;
}

void PubsubStore::save_node(const std::string& service, const std::string& node, const NodeConfig& config,
                         std::int64_t server_max_items) {
  Database::Transaction tx(db_);
  StatementUse s(db_.prepared("INSERT INTO pubsub_nodes(service, node, config) VALUES(?1, ?2, ?3) "
                   "ON CONFLICT(service, node) DO UPDATE SET config = excluded.config"));
  s->bind(1, service).bind(2, node).bind(3, serialize(config)).exec();
  StatementUse trim(db_.prepared("DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2 AND seq NOT IN "
                      "(SELECT seq FROM pubsub_items WHERE service = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3)"));
  trim->bind(1, service).bind(2, node).bind(3, limit_of(config.max_items, server_max_items)).exec();
  tx.commit();
}

void PubsubStore::remove_node(const std::string& service, const std::string& node) {
  StatementUse s(db_.prepared("DELETE FROM pubsub_nodes WHERE service = ?1 AND node = ?2"));
  s->bind(1, service).bind(2, node).exec();
}

void PubsubStore::purge(const std::string& service, const std::string& node) {
  StatementUse s(db_.prepared("DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2"));
  s->bind(1, service).bind(2, node).exec();
}

void PubsubStore::publish(const std::string& service, const std::string& node, const Item& item,
                       std::int64_t max_items) {
  Database::Transaction tx(db_);
  StatementUse s(db_.prepared("INSERT INTO pubsub_items(service, node, item_id, publisher, payload, seq) VALUES(?1, ?2, ?3, ?4, "
                   "?5, (SELECT COALESCE(MAX(seq), 0) + 1 FROM pubsub_items WHERE service = ?1 AND node = ?2)) "
                   "ON CONFLICT(service, node, item_id) DO UPDATE SET publisher = excluded.publisher, "
                   "payload = excluded.payload, seq = excluded.seq"));
  s->bind(1, service).bind(2, node).bind(3, item.id).bind(4, item.publisher).bind(5, item.payload).exec();
  StatementUse trim(db_.prepared("DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2 AND seq NOT IN "
                      "(SELECT seq FROM pubsub_items WHERE service = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3)"));
  trim->bind(1, service).bind(2, node).bind(3, max_items).exec();
  tx.commit();
}

std::vector<Item> PubsubStore::items(const std::string& service, const std::string& node, std::int64_t max,
                                  const std::vector<std::string>& ids) {
  std::vector<Item> out;
  if (!ids.empty()) {
    StatementUse s(db_.prepared("SELECT item_id, publisher, payload FROM pubsub_items WHERE service = ?1 AND node = ?2 "
                     "AND item_id = ?3"));
    for (const std::string& id : ids) {
      s->bind(1, service).bind(2, node).bind(3, id);
      if (s->step()) out.push_back({s->column_text(0), s->column_text(1), s->column_text(2)});
      s->reset();
    }
    return out;
  }
  StatementUse s(db_.prepared("SELECT item_id, publisher, payload FROM (SELECT item_id, publisher, payload, seq FROM pubsub_items "
                   "WHERE service = ?1 AND node = ?2 ORDER BY seq DESC LIMIT ?3) ORDER BY seq ASC"));
  s->bind(1, service).bind(2, node).bind(3, max > 0 ? max : INT64_MAX);
  while (s->step()) out.push_back({s->column_text(0), s->column_text(1), s->column_text(2)});
  return out;
}

bool PubsubStore::retract(const std::string& service, const std::string& node, const std::string& item_id) {
  StatementUse s(db_.prepared("DELETE FROM pubsub_items WHERE service = ?1 AND node = ?2 AND item_id = ?3"));
  return s->bind(1, service).bind(2, node).bind(3, item_id).exec() > 0;
}

std::vector<PubsubStore::LastItem> PubsubStore::last_items(const std::string& service) {
  StatementUse s(db_.prepared("SELECT n.node, n.config, i.item_id, i.publisher, i.payload FROM pubsub_nodes n "
                   "JOIN pubsub_items i ON i.service = n.service AND i.node = n.node WHERE n.service = ?1 AND "
                   "i.seq = (SELECT MAX(seq) FROM pubsub_items m WHERE m.service = n.service AND m.node = n.node) "
                   "ORDER BY n.node"));
  s->bind(1, service);
  std::vector<LastItem> out;
  while (s->step())
    out.push_back({s->column_text(0), deserialize(s->column_text(1)), {s->column_text(2), s->column_text(3), s->column_text(4)}});
  return out;
}

std::int64_t PubsubStore::node_count(const std::string& service) {
  StatementUse s(db_.prepared("SELECT COUNT(*) FROM pubsub_nodes WHERE service = ?1"));
  s->bind(1, service).step();
  return s->column_int(0);
}

void PubsubStore::subscribe(const std::string& service, const std::string& node, const std::string& jid) {
  StatementUse s(db_.prepared("INSERT OR IGNORE INTO pubsub_subscriptions(service, node, jid) VALUES(?1, ?2, ?3)"));
  s->bind(1, service).bind(2, node).bind(3, jid).exec();
}

bool PubsubStore::unsubscribe(const std::string& service, const std::string& node, const std::string& jid) {
  StatementUse s(db_.prepared("DELETE FROM pubsub_subscriptions WHERE service = ?1 AND node = ?2 AND jid = ?3"));
  return s->bind(1, service).bind(2, node).bind(3, jid).exec() > 0;
}

std::vector<std::string> PubsubStore::subscribers(const std::string& service, const std::string& node) {
  StatementUse s(db_.prepared("SELECT jid FROM pubsub_subscriptions WHERE service = ?1 AND node = ?2 ORDER BY jid"));
  s->bind(1, service).bind(2, node);
  std::vector<std::string> out;
  while (s->step()) out.push_back(s->column_text(0));
  return out;
}

std::vector<std::pair<std::string, std::string>> PubsubStore::subscriptions_of(const std::string& service,
                                                                               const std::string& jid) {
  StatementUse s(db_.prepared("SELECT node, jid FROM pubsub_subscriptions WHERE service = ?1 AND (jid = ?2 OR "
                   "(instr(?2, '/') = 0 AND substr(jid, 1, length(?2) + 1) = ?2 || '/')) ORDER BY node, jid"));
  s->bind(1, service).bind(2, jid);
  std::vector<std::pair<std::string, std::string>> out;
  while (s->step()) out.emplace_back(s->column_text(0), s->column_text(1));
  return out;
}

Affiliation PubsubStore::affiliation(const std::string& service, const std::string& node, const std::string& jid) {
  StatementUse s(db_.prepared("SELECT affiliation FROM pubsub_affiliations WHERE service = ?1 AND node = ?2 AND jid = ?3"));
  if (!s->bind(1, service).bind(2, node).bind(3, jid).step()) return Affiliation::none;
  return affiliation_named(s->column_text(0)).value_or(Affiliation::none);
}

void PubsubStore::set_affiliation(const std::string& service, const std::string& node, const std::string& jid,
                                  Affiliation affiliation) {
  if (affiliation == Affiliation::none) {
    StatementUse s(db_.prepared("DELETE FROM pubsub_affiliations WHERE service = ?1 AND node = ?2 AND jid = ?3"));
    s->bind(1, service).bind(2, node).bind(3, jid).exec();
    return;
  }
  StatementUse s(db_.prepared("INSERT INTO pubsub_affiliations(service, node, jid, affiliation) VALUES(?1, ?2, ?3, ?4) "
                   "ON CONFLICT(service, node, jid) DO UPDATE SET affiliation = excluded.affiliation"));
  s->bind(1, service).bind(2, node).bind(3, jid).bind(4, name_of(affiliation)).exec();
}

std::vector<std::pair<std::string, Affiliation>> PubsubStore::affiliations(const std::string& service,
                                                                           const std::string& node) {
  StatementUse s(db_.prepared("SELECT jid, affiliation FROM pubsub_affiliations WHERE service = ?1 AND node = ?2 ORDER BY jid"));
  s->bind(1, service).bind(2, node);
  std::vector<std::pair<std::string, Affiliation>> out;
  while (s->step()) out.emplace_back(s->column_text(0), affiliation_named(s->column_text(1)).value_or(Affiliation::none));
  return out;
}

std::vector<std::pair<std::string, Affiliation>> PubsubStore::affiliations_of(const std::string& service,
                                                                              const std::string& jid) {
  StatementUse s(db_.prepared("SELECT node, affiliation FROM pubsub_affiliations WHERE service = ?1 AND jid = ?2 ORDER BY node"));
  s->bind(1, service).bind(2, jid);
  std::vector<std::pair<std::string, Affiliation>> out;
  while (s->step()) out.emplace_back(s->column_text(0), affiliation_named(s->column_text(1)).value_or(Affiliation::none));
  return out;
}

}  // namespace pep

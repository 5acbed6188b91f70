#include "storage/database.hpp"
#include "storage/roster_store.hpp"

namespace xmppd::storage {
namespace {

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kRosterMigrations = {
    R"(CREATE TABLE roster_items(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         contact TEXT NOT NULL,          -- bare JID
         name TEXT NOT NULL DEFAULT '',
         subscription TEXT NOT NULL DEFAULT 'none',
         ask INTEGER NOT NULL DEFAULT 0,
         approved INTEGER NOT NULL DEFAULT 0,
         pending_in INTEGER NOT NULL DEFAULT 0,
         pending_stanza TEXT NOT NULL DEFAULT '',
         in_roster INTEGER NOT NULL DEFAULT 1,
         PRIMARY KEY(domain, username, contact),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;
       CREATE TABLE roster_groups(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         contact TEXT NOT NULL,
         name TEXT NOT NULL,
         position INTEGER NOT NULL,      -- keeps the client's order
         PRIMARY KEY(domain, username, contact, name),
         FOREIGN KEY(domain, username, contact) REFERENCES roster_items(domain, username, contact)
           ON DELETE CASCADE
       ) WITHOUT ROWID;
       CREATE TABLE roster_versions(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         version INTEGER NOT NULL,
         PRIMARY KEY(domain, username),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;)",
};

constexpr const char* kColumns =
    "contact, name, subscription, ask, approved, pending_in, pending_stanza, in_roster";

class SqliteRosterStore final : public RosterStore {
 public:
  explicit SqliteRosterStore(Database& db)
      : db_(db),
        select_items_(db, std::string("SELECT ") + kColumns +
                              " FROM roster_items WHERE domain = ?1 AND username = ?2 AND in_roster = 1"
                              " ORDER BY contact"),
        select_item_(db, std::string("SELECT ") + kColumns +
                             " FROM roster_items WHERE domain = ?1 AND username = ?2 AND contact = ?3"),
        select_pending_(db, std::string("SELECT ") + kColumns +
                                " FROM roster_items WHERE domain = ?1 AND username = ?2 AND pending_in = 1"
                                " ORDER BY contact"),
        select_groups_(db, "SELECT name FROM roster_groups WHERE domain = ?1 AND username = ?2 "
                           "AND contact = ?3 ORDER BY position"),
        select_all_groups_(db, "SELECT contact, name FROM roster_groups WHERE domain = ?1 AND username = ?2 "
                               "ORDER BY contact, position"),
        upsert_item_(db, std::string("INSERT INTO roster_items(domain, username, ") + kColumns +
                             ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
                             "ON CONFLICT(domain, username, contact) DO UPDATE SET name = ?4, "
                             "subscription = ?5, ask = ?6, approved = ?7, pending_in = ?8, "
                             "pending_stanza = ?9, in_roster = ?10"),
        delete_item_(db, "DELETE FROM roster_items WHERE domain = ?1 AND username = ?2 AND contact = ?3"),
        delete_groups_(db, "DELETE FROM roster_groups WHERE domain = ?1 AND username = ?2 AND contact = ?3"),
        insert_group_(db, "INSERT OR IGNORE INTO roster_groups(domain, username, contact, name, position) "
                          "VALUES(?1, ?2, ?3, ?4, ?5)"),
        bump_version_(db, "INSERT INTO roster_versions(domain, username, version) VALUES(?1, ?2, 1) "
                          "ON CONFLICT(domain, username) DO UPDATE SET version = version + 1"),
        select_version_(db, "SELECT version FROM roster_versions WHERE domain = ?1 AND username = ?2"),
        count_items_(db, "SELECT COUNT(*) FROM roster_items WHERE domain = ?1 AND username = ?2 "
                         "AND in_roster = 1") {}

  std::vector<RosterItem> items(const std::string& user, const std::string& domain) override {
    return select_rows(select_items_, user, domain);
  }

  std::optional<RosterItem> item(const std::string& user, const std::string& domain,
                                 const std::string& contact) override {
    std::optional<RosterItem> found;
    {
      StatementUse select(select_item_);
      select->bind(1, domain).bind(2, user).bind(3, contact);
      if (select->step()) found = row(select_item_);
    }
    if (found) found->groups = groups(user, domain, contact);
    return found;
  }

  std::vector<RosterItem> pending_in(const std::string& user, const std::string& domain) override {
    return select_rows(select_pending_, user, domain);
  }

  std::int64_t save(const std::string& user, const std::string& domain, const RosterItem& item) override {
    if (!item.in_roster && !item.pending_in) return remove(user, domain, item.jid);
    Database::Transaction tx(db_);
    {
      StatementUse upsert(upsert_item_);
      upsert->bind(1, domain).bind(2, user).bind(3, item.jid).bind(4, item.name)
          .bind(5, to_string(item.subscription))
          .bind(6, std::int64_t(item.ask)).bind(7, std::int64_t(item.approved))
          .bind(8, std::int64_t(item.pending_in)).bind(9, item.pending_stanza)
          .bind(10, std::int64_t(item.in_roster))
          .exec();
    }
    {
      StatementUse del(delete_groups_);
      del->bind(1, domain).bind(2, user).bind(3, item.jid).exec();
    }
    for (std::size_t i = 0; i < item.groups.size(); ++i) {
      StatementUse insert(insert_group_);
      insert->bind(1, domain).bind(2, user).bind(3, item.jid).bind(4, item.groups[i])
          .bind(5, std::int64_t(i)).exec();
    }
    std::int64_t version = bump(user, domain);
    tx.commit();
    return version;
  }

  std::int64_t remove(const std::string& user, const std::string& domain, const std::string& contact) override {
    Database::Transaction tx(db_);
    {
      StatementUse del(delete_item_);  // its groups go with it: ON DELETE CASCADE
      del->bind(1, domain).bind(2, user).bind(3, contact).exec();
    }
    std::int64_t version = bump(user, domain);
    tx.commit();
    return version;
  }

  std::int64_t version(const std::string& user, const std::string& domain) override {
    StatementUse select(select_version_);
    select->bind(1, domain).bind(2, user);
    return select->step() ? select->column_int(0) : 0;
  }

  std::size_t count(const std::string& user, const std::string& domain) override {
    StatementUse select(count_items_);
    select->bind(1, domain).bind(2, user);
    select->step();
    return std::size_t(select->column_int(0));
  }

 private:
  static RosterItem row(const Statement& s) {
    RosterItem item;
    item.jid = s.column_text(0);
    item.name = s.column_text(1);
    item.subscription = subscription_from_string(s.column_text(2)).value_or(Subscription::none);
    item.ask = s.column_int(3) != 0;
    item.approved = s.column_int(4) != 0;
    item.pending_in = s.column_int(5) != 0;
    item.pending_stanza = s.column_text(6);
    item.in_roster = s.column_int(7) != 0;
    return item;
  }

  std::vector<RosterItem> select_rows(Statement& statement, const std::string& user, const std::string& domain) {
    std::vector<RosterItem> rows;
    {
      StatementUse select(statement);
      select->bind(1, domain).bind(2, user);
      while (select->step()) rows.push_back(row(statement));
    }
    // The account's groups in one query, merged in (both ordered by contact): a roster of
    // thousands is two statements, not one per contact.
    StatementUse select(select_all_groups_);
    select->bind(1, domain).bind(2, user);
    auto item = rows.begin();
    while (select->step()) {
      std::string contact = select->column_text(0);
      while (item != rows.end() && item->jid < contact) ++item;
      if (item == rows.end()) break;
      if (item->jid == contact) item->groups.push_back(select->column_text(1));
    }
    return rows;
  }

  std::vector<std::string> groups(const std::string& user, const std::string& domain, const std::string& contact) {
    StatementUse select(select_groups_);
    select->bind(1, domain).bind(2, user).bind(3, contact);
    std::vector<std::string> names;
    while (select->step()) names.push_back(select->column_text(0));
    return names;
  }

  std::int64_t bump(const std::string& user, const std::string& domain) {
    {
      StatementUse upsert(bump_version_);
      upsert->bind(1, domain).bind(2, user).exec();
    }
    return version(user, domain);
  }

  Database& db_;
  Statement select_items_;
  Statement select_item_;
  Statement select_pending_;
  Statement select_groups_;
  Statement select_all_groups_;
  Statement upsert_item_;
  Statement delete_item_;
  Statement delete_groups_;
  Statement insert_group_;
  Statement bump_version_;
  Statement select_version_;
  Statement count_items_;
};

}  // namespace

const char* to_string(Subscription s) {
  switch (s) {
    case Subscription::to: return "to";
    case Subscription::from: return "from";
    case Subscription::both: return "both";
    case Subscription::none: break;
  }
  return "none";
}

std::optional<Subscription> subscription_from_string(std::string_view text) {
  if (text == "none") return Subscription::none;
  if (text == "to") return Subscription::to;
  if (text == "from") return Subscription::from;
  if (text == "both") return Subscription::both;
  return std::nullopt;
}

std::unique_ptr<RosterStore> open_sqlite_roster_store(Database& db) {
  db.migrate("roster", kRosterMigrations);
  return std::make_unique<SqliteRosterStore>(db);
}

}  // namespace xmppd::storage

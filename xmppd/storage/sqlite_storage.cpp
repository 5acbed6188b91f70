#include <chrono>

#include "storage/storage.hpp"

namespace xmppd::storage {
namespace {

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kAccountMigrations = {
    R"(CREATE TABLE accounts(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         created_at INTEGER NOT NULL,  -- Unix time, seconds
         PRIMARY KEY(domain, username)
       ) WITHOUT ROWID;
       CREATE TABLE scram_secrets(
         domain TEXT NOT NULL,
         username TEXT NOT NULL,
         mechanism TEXT NOT NULL,
         iterations INTEGER NOT NULL,
         salt BLOB NOT NULL,
         stored_key BLOB NOT NULL,
         server_key BLOB NOT NULL,
         PRIMARY KEY(domain, username, mechanism),
         FOREIGN KEY(domain, username) REFERENCES accounts(domain, username) ON DELETE CASCADE
       ) WITHOUT ROWID;)",
};

class SqliteAccountStore final : public AccountStore {
 public:
  explicit SqliteAccountStore(Database& db)
      : db_(db),
        insert_account_(db, "INSERT INTO accounts(domain, username, created_at) VALUES(?1, ?2, ?3) "
                            "ON CONFLICT(domain, username) DO NOTHING"),
        delete_account_(db, "DELETE FROM accounts WHERE domain = ?1 AND username = ?2"),
        account_exists_(db, "SELECT 1 FROM accounts WHERE domain = ?1 AND username = ?2"),
        list_accounts_(db, "SELECT username FROM accounts WHERE domain = ?1 ORDER BY username"),
        insert_secret_(db, "INSERT INTO scram_secrets(domain, username, mechanism, iterations, "
                           "salt, stored_key, server_key) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
        delete_secrets_(db, "DELETE FROM scram_secrets WHERE domain = ?1 AND username = ?2"),
        // LEFT JOIN: no row means no account, one row of NULLs an account without secrets.
        select_secrets_(db, "SELECT s.mechanism, s.iterations, s.salt, s.stored_key, s.server_key "
                            "FROM accounts a LEFT JOIN scram_secrets s "
                            "ON s.domain = a.domain AND s.username = a.username "
                            "WHERE a.domain = ?1 AND a.username = ?2 ORDER BY s.mechanism") {}

  bool create(const std::string& user, const std::string& domain, const Secrets& secrets) override {
    Database::Transaction tx(db_);
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::system_clock::now().time_since_epoch());
    StatementUse insert(insert_account_);
    if (insert->bind(1, domain).bind(2, user).bind(3, std::int64_t(now.count())).exec() == 0)
      return false;
    insert_secrets(user, domain, secrets);
    tx.commit();
    return true;
  }

  std::optional<Secrets> secrets(const std::string& user, const std::string& domain) override {
    StatementUse select(select_secrets_);
    select->bind(1, domain).bind(2, user);
    if (!select->step()) return std::nullopt;
    Secrets result;
    if (select->column_is_null(0)) return result;
    do {
      auth::ScramSecret s;
      s.mechanism = select->column_text(0);
      s.iterations = unsigned(select->column_int(1));
      s.salt = select->column_text(2);
      s.stored_key = select->column_text(3);
      s.server_key = select->column_text(4);
      result.push_back(std::move(s));
    } while (select->step());
    return result;
  }

  bool set_secrets(const std::string& user, const std::string& domain, const Secrets& secrets) override {
    Database::Transaction tx(db_);
    if (!exists(user, domain)) return false;
    StatementUse del(delete_secrets_);
    del->bind(1, domain).bind(2, user).exec();
    insert_secrets(user, domain, secrets);
    tx.commit();
    return true;
  }

  bool remove(const std::string& user, const std::string& domain) override {
    StatementUse del(delete_account_);  // the secrets go with it: ON DELETE CASCADE
    return del->bind(1, domain).bind(2, user).exec() > 0;
  }

  bool exists(const std::string& user, const std::string& domain) override {
    StatementUse select(account_exists_);
    return select->bind(1, domain).bind(2, user).step();
  }

  std::vector<std::string> list(const std::string& domain) override {
    StatementUse select(list_accounts_);
    select->bind(1, domain);
    std::vector<std::string> users;
    while (select->step()) users.push_back(select->column_text(0));
    return users;
  }

 private:
  void insert_secrets(const std::string& user, const std::string& domain, const Secrets& secrets) {
    for (const auth::ScramSecret& s : secrets) {
      StatementUse insert(insert_secret_);
      insert->bind(1, domain).bind(2, user).bind(3, s.mechanism)
          .bind(4, std::int64_t(s.iterations))
          .bind_blob(5, s.salt).bind_blob(6, s.stored_key).bind_blob(7, s.server_key)
          .exec();
    }
  }

  Database& db_;
  Statement insert_account_;
  Statement delete_account_;
  Statement account_exists_;
  Statement list_accounts_;
  Statement insert_secret_;
  Statement delete_secrets_;
  Statement select_secrets_;
};

class SqliteStorage final : public Storage {
 public:
  explicit SqliteStorage(const std::string& path)
      : db_(path), accounts_(migrated(db_)), roster_(open_sqlite_roster_store(db_)) {}

  AccountStore& accounts() override { return accounts_; }
  RosterStore& roster() override { return *roster_; }
  Database& database() override { return db_; }

 private:
  // The tables must exist before the store prepares statements against them.
  static Database& migrated(Database& db) {
    db.migrate("accounts", kAccountMigrations);
    return db;
  }

  Database db_;  // declared first: destroyed after the statements that use it
  SqliteAccountStore accounts_;
  std::unique_ptr<RosterStore> roster_;  // after accounts_: its tables reference accounts
};

}  // namespace

std::unique_ptr<Storage> open_sqlite(const std::string& path) {
  return std::make_unique<SqliteStorage>(path);
}

}  // namespace xmppd::storage

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <string>
#include <thread>

#include "storage/database.hpp"
#include "storage/storage.hpp"

namespace xmppd::storage {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "xmppd-storage-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::int64_t query_int(Database& db, const std::string& sql) {
  Statement st(db, sql);
  if (!st.step()) throw StorageError("no row: " + sql);
  return st.column_int(0);
}

std::string query_text(Database& db, const std::string& sql) {
  Statement st(db, sql);
  if (!st.step()) throw StorageError("no row: " + sql);
  return st.column_text(0);
}

bool has_table(Database& db, const std::string& name) {
  Statement st(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  return st.bind(1, name).step();
}

std::int64_t version_of(Database& db, const std::string& component) {
  Statement st(db, "SELECT version FROM schema_versions WHERE component = ?1");
  return st.bind(1, component).step() ? st.column_int(0) : 0;
}

Secrets sample_secrets(const std::string& password) {
  return {auth::make_secret("SCRAM-SHA-1", password, 4096),
          auth::make_secret("SCRAM-SHA-256", password, 4096)};
}

// ---- Database ----

TEST(Database, OpensWithWalFullSyncAndForeignKeys) {
  TempDir dir;
  Database db(dir.file("x.sqlite"));
  EXPECT_EQ(query_text(db, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(query_int(db, "PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(query_int(db, "PRAGMA foreign_keys"), 1);
  EXPECT_EQ(query_int(db, "PRAGMA busy_timeout"), 5000);
}

// Two xmppctl calls on a data dir that has no database yet: both create it at once, and
// turning it to WAL must wait for the other instead of failing with "database is locked".
TEST(Database, OpeningANewFileFromTwoConnectionsAtOnceWorks) {
  for (int round = 0; round < 30; ++round) {
    TempDir dir;
    const std::string path = dir.file("x.sqlite");
    std::string errors;
    std::mutex mutex;
    auto open = [&] {
      try {
        Database db(path);
        db.migrate("race", {"CREATE TABLE t(x INTEGER)"});
      } catch (const StorageError& e) {
        std::lock_guard lock(mutex);
        errors += e.what() + std::string("\n");
      }
    };
    std::thread a(open), b(open);
    a.join();
    b.join();
    ASSERT_EQ(errors, "") << "round " << round;
  }
}

TEST(Database, OpenFailureNamesThePath) {
  TempDir dir;
  std::string path = dir.file("missing-dir/x.sqlite");
  try {
    Database db(path);
    FAIL() << "opened " << path;
  } catch (const StorageError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
}

TEST(Database, MigrationsApplyOnceAndResumeWhereTheyStopped) {
  TempDir dir;
  std::string path = dir.file("x.sqlite");
  {
    Database db(path);
    db.migrate("demo", {"CREATE TABLE a(x)"});
    EXPECT_EQ(version_of(db, "demo"), 1);
    // Re-applying step 1 would fail with "table a already exists".
    db.migrate("demo", {"CREATE TABLE a(x)"});
    db.migrate("demo", {"CREATE TABLE a(x)", "CREATE TABLE b(x); INSERT INTO b VALUES(1)"});
    EXPECT_EQ(version_of(db, "demo"), 2);
    EXPECT_EQ(query_int(db, "SELECT count(*) FROM b"), 1);
  }
  Database db(path);
  db.migrate("demo", {"CREATE TABLE a(x)", "CREATE TABLE b(x); INSERT INTO b VALUES(1)"});
  EXPECT_EQ(version_of(db, "demo"), 2);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM b"), 1);
  // Components are versioned independently.
  db.migrate("other", {"CREATE TABLE c(x)"});
  EXPECT_EQ(version_of(db, "other"), 1);
  EXPECT_EQ(version_of(db, "demo"), 2);
}

TEST(Database, FailedMigrationStepRollsBackAndKeepsVersion) {
  TempDir dir;
  Database db(dir.file("x.sqlite"));
  EXPECT_THROW(db.migrate("demo", {"CREATE TABLE a(x)", "CREATE TABLE b(x); NOT SQL"}), StorageError);
  EXPECT_EQ(version_of(db, "demo"), 1);
  EXPECT_TRUE(has_table(db, "a"));
  EXPECT_FALSE(has_table(db, "b"));
}

TEST(Database, RefusesASchemaNewerThanItsSteps) {
  TempDir dir;
  Database db(dir.file("x.sqlite"));
  db.migrate("demo", {"CREATE TABLE a(x)", "CREATE TABLE b(x)"});
  EXPECT_THROW(db.migrate("demo", {"CREATE TABLE a(x)"}), StorageError);
}

TEST(Database, TransactionRollsBackUnlessCommitted) {
  TempDir dir;
  Database db(dir.file("x.sqlite"));
  db.exec("CREATE TABLE t(x)");
  {
    Database::Transaction tx(db);
    db.exec("INSERT INTO t VALUES(1)");
  }
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM t"), 0);
  {
    Database::Transaction tx(db);
    db.exec("INSERT INTO t VALUES(1)");
    tx.commit();
  }
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM t"), 1);
}

TEST(Statement, BindsAndReadsBackEveryType) {
  TempDir dir;
  Database db(dir.file("x.sqlite"));
  db.exec("CREATE TABLE t(s TEXT, b BLOB, i INTEGER, n)");
  Statement insert(db, "INSERT INTO t VALUES(?1, ?2, ?3, ?4)");
  const std::string blob("\0\x01\xff\0", 4);
  EXPECT_EQ(insert.bind(1, "h\xC3\xA9").bind_blob(2, blob).bind(3, std::int64_t(-1) << 40).bind_null(4).exec(), 1);
  insert.reset();
  // Empty values are empty, not NULL.
  EXPECT_EQ(insert.bind(1, std::string_view()).bind_blob(2, std::string_view()).bind(3, std::int64_t(0))
                .bind_null(4).exec(), 1);
  insert.reset();

  Statement select(db, "SELECT s, b, i, n FROM t ORDER BY rowid");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.column_text(0), "h\xC3\xA9");
  EXPECT_EQ(select.column_text(1), blob);
  EXPECT_EQ(select.column_int(2), std::int64_t(-1) << 40);
  EXPECT_TRUE(select.column_is_null(3));
  ASSERT_TRUE(select.step());
  EXPECT_FALSE(select.column_is_null(0));
  EXPECT_FALSE(select.column_is_null(1));
  EXPECT_EQ(select.column_text(0), "");
  EXPECT_EQ(select.column_text(1), "");
  EXPECT_FALSE(select.step());
}

TEST(Statement, ResetAllowsReuseAndErrorsThrow) {
  TempDir dir;
  Database db(dir.file("x.sqlite"));
  db.exec("CREATE TABLE t(k TEXT PRIMARY KEY)");
  Statement insert(db, "INSERT INTO t VALUES(?1)");
  insert.bind(1, "a").exec();
  insert.reset();
  insert.bind(1, "b").exec();
  insert.reset();
  EXPECT_THROW(insert.bind(1, "a").exec(), StorageError);  // UNIQUE constraint
  insert.reset();
  EXPECT_EQ(insert.bind(1, "c").exec(), 1);
  EXPECT_EQ(query_int(db, "SELECT count(*) FROM t"), 3);
  EXPECT_THROW(Statement(db, "SELECT nonsense FROM nowhere"), StorageError);
}

// ---- Accounts ----

TEST(Accounts, CreateExistsSecretsList) {
  TempDir dir;
  auto storage = open_sqlite(dir.file("x.sqlite"));
  auto& accounts = storage->accounts();
  EXPECT_FALSE(accounts.exists("alice", "example.com"));
  EXPECT_EQ(accounts.secrets("alice", "example.com"), std::nullopt);

  Secrets secrets = sample_secrets("pencil");
  EXPECT_TRUE(accounts.create("alice", "example.com", secrets));
  EXPECT_TRUE(accounts.create("bob", "example.com", sample_secrets("x")));
  EXPECT_TRUE(accounts.create("alice", "example.net", sample_secrets("y")));

  EXPECT_TRUE(accounts.exists("alice", "example.com"));
  EXPECT_FALSE(accounts.exists("alice", "example.org"));
  auto stored = accounts.secrets("alice", "example.com");
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, secrets);  // ordered by mechanism: SCRAM-SHA-1, SCRAM-SHA-256
  EXPECT_TRUE(auth::verify_password((*stored)[1], "pencil"));

  EXPECT_EQ(accounts.list("example.com"), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_EQ(accounts.list("example.net"), (std::vector<std::string>{"alice"}));
  EXPECT_TRUE(accounts.list("example.org").empty());
}

TEST(Accounts, ListIsSorted) {
  TempDir dir;
  auto storage = open_sqlite(dir.file("x.sqlite"));
  for (const char* user : {"mallory", "bob", "\xC3\xA4gir", "alice", "carol"})
    ASSERT_TRUE(storage->accounts().create(user, "example.com", {}));
  EXPECT_EQ(storage->accounts().list("example.com"),
            (std::vector<std::string>{"alice", "bob", "carol", "mallory", "\xC3\xA4gir"}));
}

TEST(Accounts, DuplicateCreateReturnsFalseAndKeepsTheOriginal) {
  TempDir dir;
  auto storage = open_sqlite(dir.file("x.sqlite"));
  auto& accounts = storage->accounts();
  Secrets original = sample_secrets("first");
  ASSERT_TRUE(accounts.create("alice", "example.com", original));
  EXPECT_FALSE(accounts.create("alice", "example.com", sample_secrets("second")));
  EXPECT_EQ(accounts.secrets("alice", "example.com"), original);
}

TEST(Accounts, SetSecretsReplacesAllOfThem) {
  TempDir dir;
  auto storage = open_sqlite(dir.file("x.sqlite"));
  auto& accounts = storage->accounts();
  EXPECT_FALSE(accounts.set_secrets("alice", "example.com", sample_secrets("x")));
  EXPECT_FALSE(accounts.exists("alice", "example.com"));

  ASSERT_TRUE(accounts.create("alice", "example.com", sample_secrets("old")));
  Secrets only_256{auth::make_secret("SCRAM-SHA-256", "new", 4096)};
  EXPECT_TRUE(accounts.set_secrets("alice", "example.com", only_256));
  EXPECT_EQ(accounts.secrets("alice", "example.com"), only_256);
  EXPECT_TRUE(accounts.set_secrets("alice", "example.com", {}));
  EXPECT_EQ(accounts.secrets("alice", "example.com"), Secrets{});  // an account without secrets
}

TEST(Accounts, CreateWithConflictingSecretsLeavesNoAccount) {
  TempDir dir;
  auto storage = open_sqlite(dir.file("x.sqlite"));
  auto& accounts = storage->accounts();
  auto s = auth::make_secret("SCRAM-SHA-1", "x", 4096);
  EXPECT_THROW(accounts.create("alice", "example.com", {s, s}), StorageError);
  EXPECT_FALSE(accounts.exists("alice", "example.com"));  // one transaction: all or nothing
  EXPECT_TRUE(accounts.create("alice", "example.com", {s}));
}

TEST(Accounts, RemoveCascadesToSecrets) {
  TempDir dir;
  auto storage = open_sqlite(dir.file("x.sqlite"));
  auto& accounts = storage->accounts();
  ASSERT_TRUE(accounts.create("alice", "example.com", sample_secrets("pencil")));
  ASSERT_TRUE(accounts.create("bob", "example.com", sample_secrets("pencil")));
  EXPECT_EQ(query_int(storage->database(), "SELECT count(*) FROM scram_secrets"), 4);

  EXPECT_TRUE(accounts.remove("alice", "example.com"));
  EXPECT_FALSE(accounts.remove("alice", "example.com"));
  EXPECT_FALSE(accounts.exists("alice", "example.com"));
  EXPECT_EQ(accounts.secrets("alice", "example.com"), std::nullopt);
  EXPECT_EQ(query_int(storage->database(),
                      "SELECT count(*) FROM scram_secrets WHERE username = 'alice'"), 0);
  EXPECT_EQ(query_int(storage->database(), "SELECT count(*) FROM scram_secrets"), 2);
  // Re-created, the account starts without the old secrets.
  EXPECT_TRUE(accounts.create("alice", "example.com", {}));
  EXPECT_EQ(accounts.secrets("alice", "example.com"), Secrets{});
}

TEST(Accounts, DataSurvivesCloseAndReopen) {
  TempDir dir;
  std::string path = dir.file("x.sqlite");
  Secrets secrets = sample_secrets("pencil");
  {
    auto storage = open_sqlite(path);
    ASSERT_TRUE(storage->accounts().create("alice", "example.com", secrets));
  }
  auto storage = open_sqlite(path);  // migrations already applied: must not fail
  EXPECT_EQ(storage->accounts().secrets("alice", "example.com"), secrets);
  EXPECT_EQ(version_of(storage->database(), "accounts"), 1);
}

TEST(Accounts, NoPlaintextPasswordInTheFiles) {
  TempDir dir;
  std::string path = dir.file("x.sqlite");
  const std::string password = "plaintext-canary-4711";
  {
    auto storage = open_sqlite(path);
    ASSERT_TRUE(storage->accounts().create("alice", "example.com", sample_secrets(password)));
    // Read while open too: the row may still be only in the WAL.
    for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::string bytes{std::istreambuf_iterator<char>(in), {}};
      EXPECT_EQ(bytes.find(password), std::string::npos) << entry.path();
    }
  }
}

// xmppctl beside the running server: two connections on the same file.
TEST(Accounts, TwoHandlesOnOneFileSeeEachOthersWrites) {
  TempDir dir;
  std::string path = dir.file("x.sqlite");
  auto server = open_sqlite(path);
  auto ctl = open_sqlite(path);
  ASSERT_TRUE(ctl->accounts().create("alice", "example.com", sample_secrets("pencil")));
  EXPECT_TRUE(server->accounts().exists("alice", "example.com"));
  EXPECT_TRUE(server->accounts().create("bob", "example.com", {}));
  EXPECT_EQ(ctl->accounts().list("example.com"), (std::vector<std::string>{"alice", "bob"}));
  EXPECT_TRUE(ctl->accounts().remove("bob", "example.com"));
  EXPECT_FALSE(server->accounts().exists("bob", "example.com"));
}

TEST(Accounts, AWriterWaitsForTheOtherHandlesTransaction) {
  TempDir dir;
  std::string path = dir.file("x.sqlite");
  auto server = open_sqlite(path);
  auto ctl = open_sqlite(path);
  std::thread holder;
  {
    // The server holds the write lock for a moment; the busy timeout makes xmppctl wait.
    auto tx = std::make_unique<Database::Transaction>(server->database());
    holder = std::thread([tx = std::move(tx)]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      tx.reset();
    });
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(ctl->accounts().create("alice", "example.com", {}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200));
  holder.join();
  EXPECT_TRUE(server->accounts().exists("alice", "example.com"));
}

}  // namespace
}  // namespace xmppd::storage

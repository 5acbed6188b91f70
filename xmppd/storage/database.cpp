#include "storage/database.hpp"

#include <sqlite3.h>

#include <chrono>
#include <thread>

namespace xmppd::storage {

namespace {
// How long a connection waits for another process's lock before reporting it.
constexpr std::chrono::milliseconds kBusyTimeout{5000};
}  // namespace

// ---- Statement ----

Statement::Statement(Database& db, std::string_view sql) : db_(db) {
  // PERSISTENT: these statements live as long as the store and are reused for every call.
  if (sqlite3_prepare_v3(db.handle(), sql.data(), int(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt_, nullptr) != SQLITE_OK)
    db.fail("cannot prepare \"" + std::string(sql) + '"');
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

namespace {
// An empty view may have a null data(), which SQLite would bind as NULL instead of "".
const char* non_null(std::string_view s) { return s.data() ? s.data() : ""; }
}  // namespace

Statement& Statement::bind(int index, std::string_view text) {
  if (sqlite3_bind_text(stmt_, index, non_null(text), int(text.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_.fail("cannot bind parameter " + std::to_string(index));
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  if (sqlite3_bind_blob(stmt_, index, non_null(bytes), int(bytes.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_.fail("cannot bind parameter " + std::to_string(index));
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK)
    db_.fail("cannot bind parameter " + std::to_string(index));
  return *this;
}

Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK)
    db_.fail("cannot bind parameter " + std::to_string(index));
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string message = sqlite3_errmsg(db_.handle());
  sqlite3_reset(stmt_);  // release whatever locks the failed step holds
  throw StorageError(db_.path() + ": " + sqlite3_sql(stmt_) + ": " + message);
}

int Statement::exec() {
  while (step()) {
  }
  return sqlite3_changes(db_.handle());
}

std::string Statement::column_text(int index) const {
  // Blob columns too: read them as blobs so no text conversion can touch the bytes.
  if (sqlite3_column_type(stmt_, index) == SQLITE_BLOB) {
    const void* data = sqlite3_column_blob(stmt_, index);
    return std::string(static_cast<const char*>(data), std::size_t(sqlite3_column_bytes(stmt_, index)));
  }
  const unsigned char* text = sqlite3_column_text(stmt_, index);
  if (!text) return {};
  return std::string(reinterpret_cast<const char*>(text), std::size_t(sqlite3_column_bytes(stmt_, index)));
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

void Statement::reset() {
  sqlite3_reset(stmt_);  // its result repeats the last step's error, already reported there
  sqlite3_clear_bindings(stmt_);
}

// ---- Database ----

Database::Database(const std::string& path) : path_(path) {
  // NOMUTEX: one thread uses a connection; other processes are handled by file locks.
  int rc = sqlite3_open_v2(path.c_str(), &db_,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close_v2(db_);
    throw StorageError("cannot open database " + path + ": " + message);
  }
  try {
    sqlite3_extended_result_codes(db_, 1);
    // xmppctl and the server share the file: wait for the other's lock instead of failing.
    sqlite3_busy_timeout(db_, int(kBusyTimeout.count()));
    // WAL lets readers and one writer proceed together; FULL syncs every commit, so a write
    // the client was told succeeded survives a power cut.
    use_wal();
    exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    // The archive's indexes outgrow SQLite's default 2 MB page cache at once; 32 MB keeps
    // their hot pages (the newest of each archive) in memory. Pages are taken as needed.
    exec("PRAGMA cache_size=-32768;");
  } catch (...) {
    sqlite3_close_v2(db_);
    throw;
  }
}

Database::~Database() {
  prepared_.clear();  // finalized before the connection closes
  sqlite3_close_v2(db_);
}

Statement& Database::prepared(std::string_view sql) {
  auto it = prepared_.find(std::string(sql));
  if (it == prepared_.end()) it = prepared_.emplace(std::string(sql), std::make_unique<Statement>(*this, sql)).first;
  return *it->second;
}

void Database::use_wal() {
  // Turning a new file to WAL takes an exclusive lock that SQLite does not wait for (no busy
  // handler): two processes opening the same new file at once (two xmppctl adduser, say)
  // would see "database is locked". Wait for it as for any other lock.
  const auto give_up = std::chrono::steady_clock::now() + kBusyTimeout;
  for (;;) {
    int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() > give_up) fail("PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void Database::exec(std::string_view sql) {
  std::string copy(sql);  // sqlite3_exec wants a NUL-terminated string
  if (sqlite3_exec(db_, copy.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) fail(copy);
}

void Database::fail(std::string_view what) {
  throw StorageError(path_ + ": " + std::string(what) + ": " + sqlite3_errmsg(db_));
}

void Database::migrate(std::string_view component, const std::vector<std::string>& steps) {
  exec("CREATE TABLE IF NOT EXISTS schema_versions("
       "component TEXT PRIMARY KEY, version INTEGER NOT NULL)");
  Statement read(*this, "SELECT version FROM schema_versions WHERE component = ?1");
  Statement write(*this,
                  "INSERT INTO schema_versions(component, version) VALUES(?1, ?2) "
                  "ON CONFLICT(component) DO UPDATE SET version = excluded.version");
  for (;;) {
    // The version is read inside the write transaction, so two processes opening the same
    // file at once cannot both apply a step.
    Transaction tx(*this);
    read.bind(1, component);
    std::int64_t version = read.step() ? read.column_int(0) : 0;
    read.reset();
    if (version > std::int64_t(steps.size()))
      throw StorageError(path_ + ": schema of " + std::string(component) + " is at version " +
                         std::to_string(version) + ", newer than this program knows (" +
                         std::to_string(steps.size()) + ")");
    if (version == std::int64_t(steps.size())) return;  // tx rolls back: nothing was written
    exec(steps[std::size_t(version)]);
    write.bind(1, component).bind(2, version + 1).exec();
    write.reset();
    tx.commit();
  }
}

// ---- Transaction ----

// IMMEDIATE takes the write lock up front: a deferred transaction that later tries to
// write could fail with SQLITE_BUSY without the busy timeout ever waiting.
Database::Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Database::Transaction::~Transaction() {
  if (!done_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

Database::ReadTransaction::ReadTransaction(Database& db) : db_(db) { db_.exec("BEGIN DEFERRED"); }

Database::ReadTransaction::~ReadTransaction() { sqlite3_exec(db_.handle(), "COMMIT", nullptr, nullptr, nullptr); }

void Database::Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace xmppd::storage

// A SQLite database file: WAL, versioned migrations, prepared statements.
// Blocking: used only from the storage thread (and by xmppctl).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace xmppd::storage {

struct StorageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Database;

// One prepared statement, reset for reuse on each bind round.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Binds positional parameters (1-based) and returns *this for chaining.
  Statement& bind(int index, std::string_view text);
  Statement& bind_blob(int index, std::string_view bytes);
  Statement& bind(int index, std::int64_t value);
  Statement& bind_null(int index);
  // Steps once: true while a row is available.
  bool step();
  // Runs to completion (for writes); returns the number of rows changed.
  int exec();
  std::string column_text(int index) const;
  std::int64_t column_int(int index) const;
  bool column_is_null(int index) const;
  // Clears bindings and rewinds, ready for the next use.
  void reset();

 private:
  Database& db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a reused statement when the call using it ends, however it ends, so that no
// statement keeps a read snapshot open or carries stale bindings into the next call.
class StatementUse {
 public:
  explicit StatementUse(Statement& s) : s_(s) {}
  ~StatementUse() { s_.reset(); }
  StatementUse(const StatementUse&) = delete;
  StatementUse& operator=(const StatementUse&) = delete;
  Statement* operator->() { return &s_; }

 private:
  Statement& s_;
};

class Database {
 public:
  // Opens (creating if needed) with WAL, foreign keys, synchronous=FULL and a busy timeout
  // so that xmppctl and the server can share the file. Throws StorageError.
  explicit Database(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies the steps of `component` not applied yet, in order, each in a transaction,
  // recording the version reached in the schema_versions table.
  void migrate(std::string_view component, const std::vector<std::string>& steps);

  void exec(std::string_view sql);  // one or more statements, no results
  // The statement for `sql`, prepared on first use and kept: for stores that do not hold
  // their statements as members. Use it through a StatementUse, and not twice at once.
  Statement& prepared(std::string_view sql);
  // RAII transaction: commits in commit(), rolls back if destroyed before.
  class Transaction {
   public:
    explicit Transaction(Database& db);
    ~Transaction();
    void commit();
   private:
    Database& db_;
    bool done_ = false;
  };
  // RAII read snapshot: the statements inside see one state of the file and take the WAL
  // read lock once, not once each (a many-query read, such as a login's, is much cheaper).
  class ReadTransaction {
   public:
    explicit ReadTransaction(Database& db);
    ~ReadTransaction();
   private:
    Database& db_;
  };

  sqlite3* handle() { return db_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(std::string_view what);  // throws StorageError with sqlite's message

 private:
  void use_wal();

  sqlite3* db_ = nullptr;
  std::string path_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> prepared_;
};

}  // namespace xmppd::storage

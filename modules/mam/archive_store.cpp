#include "archive_store.hpp"

#include <algorithm>
#include <sstream>

namespace archive {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;
using xmppd::storage::StatementUse;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE archive_messages(
         id INTEGER PRIMARY KEY,      -- microseconds since the epoch, unique: the stanza-id
         sender TEXT NOT NULL,        -- real bare JID of the sender
         message_id TEXT NOT NULL,    -- origin-id or 'id', what a retraction names
         stanza TEXT NOT NULL,        -- serialized in jabber:client; a tombstone once retracted
         body TEXT                    -- what full-text search sees; NULL for nothing
       );
       CREATE INDEX archive_messages_by_message_id ON archive_messages(message_id);
       -- Which archives hold a message: small rows, clustered by archive and time.
       CREATE TABLE archive_entries(
         archive TEXT NOT NULL,       -- bare JID of the account or room
         id INTEGER NOT NULL,         -- archive_messages.id
         with_bare TEXT NOT NULL,     -- the other party (account), the sender's nick (room)
         with_resource TEXT NOT NULL,
         PRIMARY KEY(archive, id)
       ) WITHOUT ROWID;
       CREATE INDEX archive_entries_by_with ON archive_entries(archive, with_bare, id);
       CREATE VIRTUAL TABLE archive_text USING fts5(
         body, content='archive_messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
       CREATE TABLE archive_counts(archive TEXT PRIMARY KEY, messages INTEGER NOT NULL);
       CREATE TABLE archive_preferences(
         archive TEXT PRIMARY KEY,
         default_mode TEXT NOT NULL,
         always TEXT NOT NULL,        -- bare JIDs, one per line
         never TEXT NOT NULL
       );
       -- Entries belong to accounts and rooms alike, so no foreign key: an account's archive
       -- goes with the account, whoever deletes it (the server, xmppctl). A message the other
       -- party's archive holds too stays for them.
       CREATE TRIGGER archive_account_deleted AFTER DELETE ON accounts BEGIN
         INSERT INTO archive_text(archive_text, rowid, body) SELECT 'delete', m.id, m.body
           FROM archive_entries e JOIN archive_messages m ON m.id = e.id
           WHERE e.archive = OLD.username || '@' || OLD.domain AND m.body IS NOT NULL AND NOT EXISTS(
             SELECT 1 FROM archive_entries o WHERE o.archive = e.with_bare AND o.id = e.id AND o.archive != e.archive);
         DELETE FROM archive_messages WHERE id IN (SELECT e.id FROM archive_entries e
           WHERE e.archive = OLD.username || '@' || OLD.domain AND NOT EXISTS(
             SELECT 1 FROM archive_entries o WHERE o.archive = e.with_bare AND o.id = e.id AND o.archive != e.archive));
         DELETE FROM archive_entries WHERE archive = OLD.username || '@' || OLD.domain;
         DELETE FROM archive_counts WHERE archive = OLD.username || '@' || OLD.domain;
         DELETE FROM archive_preferences WHERE archive = OLD.username || '@' || OLD.domain;
       END;)",
};

Database& migrated(Database& db) {
  db.migrate("archive", kMigrations);
  return db;
}

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += i + '\n';
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

ArchiveStore::ArchiveStore(Database& db)
    : db_(migrated(db)),
      insert_account_entry_(db, "INSERT INTO archive_entries(archive, id, with_bare, with_resource) "
                                "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS("
                                "SELECT 1 FROM accounts WHERE username = ?5 AND domain = ?6)"),
      insert_entry_if_in_roster_(db, "INSERT INTO archive_entries(archive, id, with_bare, with_resource) "
                                     "SELECT ?1, ?2, ?3, ?4 WHERE EXISTS("
                                     "SELECT 1 FROM roster_items WHERE username = ?5 AND domain = ?6 AND contact = ?3)"),
      insert_room_entry_(db, "INSERT INTO archive_entries(archive, id, with_bare, with_resource) VALUES(?1, ?2, ?3, ?4)"),
      insert_message_(db, "INSERT OR IGNORE INTO archive_messages(id, sender, message_id, stanza, body) "
                          "VALUES(?1, ?2, ?3, ?4, ?5)"),
      insert_text_(db, "INSERT INTO archive_text(rowid, body) VALUES(?1, ?2)"),
      bump_count_(db, "INSERT INTO archive_counts(archive, messages) VALUES(?1, ?2) "
                      "ON CONFLICT(archive) DO UPDATE SET messages = messages + excluded.messages"),
      read_count_(db, "SELECT messages FROM archive_counts WHERE archive = ?1"),
      contains_(db, "SELECT 1 FROM archive_entries WHERE archive = ?2 AND id = ?1"),
      find_by_message_id_(db, "SELECT m.id, m.sender, m.stanza FROM archive_messages m "
                              "JOIN archive_entries e ON e.archive = ?1 AND e.id = m.id "
                              "WHERE m.message_id = ?2 ORDER BY m.id"),
      find_by_id_(db, "SELECT m.id, m.sender, m.stanza FROM archive_messages m "
                      "JOIN archive_entries e ON e.archive = ?2 AND e.id = m.id WHERE m.id = ?1"),
      unindex_(db, "INSERT INTO archive_text(archive_text, rowid, body) "
                   "SELECT 'delete', id, body FROM archive_messages WHERE id = ?1 AND body IS NOT NULL"),
      replace_(db, "UPDATE archive_messages SET stanza = ?2, body = NULL WHERE id = ?1") {}

void ArchiveStore::add_all(const std::vector<Entry>& entries, std::int64_t max_messages) {
  Database::Transaction tx(db_);
  std::map<std::string, std::int64_t> added;
  for (const Entry& e : entries) {
    Statement& insert = !e.account ? insert_room_entry_
                        : e.only_if_in_roster ? insert_entry_if_in_roster_
                                              : insert_account_entry_;
    {
      StatementUse use(insert);
      insert.bind(1, e.archive).bind(2, e.id).bind(3, e.with_bare).bind(4, e.with_resource);
      if (e.account) {
        auto at = e.archive.find('@');
        insert.bind(5, std::string_view(e.archive).substr(0, at));
        insert.bind(6, at == std::string::npos ? std::string_view() : std::string_view(e.archive).substr(at + 1));
      }
      if (insert.exec() == 0) continue;  // the account is gone (or the contact not in its roster)
    }
    ++added[e.archive];
    if (e.shares_content) continue;
    {
      StatementUse use(insert_message_);
      insert_message_.bind(1, e.id).bind(2, e.sender).bind(3, e.message_id).bind(4, e.stanza);
      if (e.text.empty()) insert_message_.bind_null(5);
      else insert_message_.bind(5, e.text);
      if (insert_message_.exec() == 0 || e.text.empty()) continue;
    }
    StatementUse text(insert_text_);
    insert_text_.bind(1, e.id).bind(2, e.text).exec();
  }
  for (const auto& [archive, n] : added) {
    StatementUse use(bump_count_);
    bump_count_.bind(1, archive).bind(2, n).exec();
    if (max_messages > 0) trim(archive, max_messages);
  }
  tx.commit();
}

void ArchiveStore::create_doomed() {
  Statement doomed(db_, "CREATE TEMP TABLE IF NOT EXISTS archive_doomed("
                        "archive TEXT, id INTEGER, other TEXT, PRIMARY KEY(archive, id))");
  doomed.exec();
}

std::int64_t ArchiveStore::remove_entries(const std::string& archive, const std::string& where, std::int64_t limit) {
  create_doomed();
  Statement fill(db_, "INSERT INTO archive_doomed SELECT e.archive, e.id, e.with_bare FROM archive_entries e WHERE " +
                          where + " ORDER BY e.id LIMIT ?2");
  fill.bind(1, archive).bind(2, limit).exec();
  return remove_doomed();
}

std::int64_t ArchiveStore::remove_doomed() {
  // A message goes when no archive keeps it: the other party's entry is the only one that
  // can share it, unless that entry goes too.
  const std::string orphans =
      "SELECT d.id FROM archive_doomed d WHERE NOT EXISTS(SELECT 1 FROM archive_entries o WHERE o.archive = d.other "
      "AND o.id = d.id AND o.archive != d.archive AND NOT EXISTS(SELECT 1 FROM archive_doomed x WHERE "
      "x.archive = o.archive AND x.id = o.id))";
  Statement unindex(db_, "INSERT INTO archive_text(archive_text, rowid, body) SELECT 'delete', id, body "
                         "FROM archive_messages WHERE id IN (" + orphans + ") AND body IS NOT NULL");
  unindex.exec();
  Statement remove_messages(db_, "DELETE FROM archive_messages WHERE id IN (" + orphans + ")");
  remove_messages.exec();
  Statement recount(db_, "UPDATE archive_counts SET messages = messages - "
                         "(SELECT COUNT(*) FROM archive_doomed d WHERE d.archive = archive_counts.archive) "
                         "WHERE archive IN (SELECT archive FROM archive_doomed)");
  recount.exec();
  Statement remove(db_, "DELETE FROM archive_entries WHERE (archive, id) IN (SELECT archive, id FROM archive_doomed)");
  std::int64_t removed = remove.exec();
  Statement clear(db_, "DELETE FROM archive_doomed");
  clear.exec();
  return removed;
}

void ArchiveStore::trim(const std::string& archive, std::int64_t max_messages) {
  std::int64_t count = 0;
  {
    StatementUse use(read_count_);
    if (read_count_.bind(1, archive).step()) count = read_count_.column_int(0);
  }
  if (count > max_messages) remove_entries(archive, "e.archive = ?1", count - max_messages);
}

Page ArchiveStore::query(const Query& q) {
  // WHERE clause with numbered parameters: ?1 archive, ?2/?3 bounds, then the filters.
  std::string where = "e.archive = ?1 AND e.id > ?2 AND e.id < ?3";
  int next = 4;
  int with_bare = 0, with_resource = 0, fulltext = 0;
  if (q.with_bare) {
    with_bare = next++;
    where += " AND e.with_bare = ?" + std::to_string(with_bare);
  }
  if (q.with_resource) {
    with_resource = next++;
    where += " AND e.with_resource = ?" + std::to_string(with_resource);
  }
  if (!q.ids.empty()) {
    where += " AND e.id IN (";
    for (std::size_t i = 0; i < q.ids.size(); ++i) where += (i ? "," : "") + std::to_string(q.ids[i]);
    where += ")";
  }
  if (!q.fulltext.empty()) {
    fulltext = next++;
    where += " AND e.id IN (SELECT rowid FROM archive_text WHERE archive_text MATCH ?" + std::to_string(fulltext) + ")";
  }
  auto bind_filters = [&](Statement& s, std::int64_t after, std::int64_t before) {
    s.bind(1, q.archive).bind(2, after).bind(3, before);
    if (with_bare) s.bind(with_bare, *q.with_bare);
    if (with_resource) s.bind(with_resource, *q.with_resource);
    if (fulltext) s.bind(fulltext, q.fulltext);
  };

  Page page;
  {
    std::string sql = "SELECT e.id, m.stanza FROM archive_entries e JOIN archive_messages m ON m.id = e.id WHERE " +
                      where + " ORDER BY e.id " + (q.newest_first ? "DESC" : "ASC") + " LIMIT " +
                      std::to_string(q.max + 1);
    Statement select(db_, sql);
    bind_filters(select, std::max(q.after, q.page_after), std::min(q.before, q.page_before));
    while (select.step()) {
      if (page.items.size() == q.max) {
        page.complete = false;
        break;
      }
      page.items.push_back({select.column_int(0), select.column_text(1)});
    }
  }
  if (q.newest_first) std::reverse(page.items.begin(), page.items.end());

  bool filtered = q.with_bare || !q.ids.empty() || q.after >= 0 || q.before != INT64_MAX;
  if (!q.fulltext.empty()) {
    // Counting every match of a search costs as much as the search: not given.
  } else if (!filtered) {
    StatementUse use(read_count_);
    page.count = read_count_.bind(1, q.archive).step() ? read_count_.column_int(0) : 0;
  } else {
    Statement count(db_, "SELECT COUNT(*) FROM archive_entries e WHERE " + where);
    bind_filters(count, q.after, q.before);
    count.step();
    page.count = count.column_int(0);
  }
  return page;
}

bool ArchiveStore::contains(const std::string& archive, std::int64_t id) {
  StatementUse use(contains_);
  return contains_.bind(1, id).bind(2, archive).step();
}

std::vector<ArchiveStore::Stored> ArchiveStore::find(const std::string& archive, const std::string& message_id,
                                                     bool by_stanza_id) {
  std::vector<Stored> out;
  Statement& s = by_stanza_id ? find_by_id_ : find_by_message_id_;
  StatementUse use(s);
  if (by_stanza_id) {
    std::int64_t id = 0;
    try {
      id = std::stoll(message_id);
    } catch (const std::exception&) {
      return out;
    }
    s.bind(1, id).bind(2, archive);
  } else {
    s.bind(1, archive).bind(2, message_id);
  }
  while (s.step()) out.push_back({s.column_int(0), s.column_text(1), s.column_text(2)});
  return out;
}

void ArchiveStore::replace(std::int64_t id, const std::string& stanza) {
  {
    StatementUse use(unindex_);
    unindex_.bind(1, id).exec();
  }
  StatementUse use(replace_);
  replace_.bind(1, id).bind(2, stanza).exec();
}

std::optional<std::pair<std::int64_t, std::int64_t>> ArchiveStore::bounds(const std::string& archive) {
  // Two lookups at the ends of the archive, not one aggregate that would scan it.
  Statement first(db_, "SELECT id FROM archive_entries WHERE archive = ?1 ORDER BY id ASC LIMIT 1");
  Statement last(db_, "SELECT id FROM archive_entries WHERE archive = ?1 ORDER BY id DESC LIMIT 1");
  if (!first.bind(1, archive).step() || !last.bind(1, archive).step()) return std::nullopt;
  return std::pair{first.column_int(0), last.column_int(0)};
}

std::vector<Found> ArchiveStore::newest(const std::string& archive, std::size_t n) {
  Statement s(db_, "SELECT e.id, m.stanza FROM archive_entries e JOIN archive_messages m ON m.id = e.id "
                   "WHERE e.archive = ?1 ORDER BY e.id DESC LIMIT ?2");
  s.bind(1, archive).bind(2, std::int64_t(n));
  std::vector<Found> out;
  while (s.step()) out.push_back({s.column_int(0), s.column_text(1)});
  std::reverse(out.begin(), out.end());
  return out;
}

void ArchiveStore::remove_archive(const std::string& archive) {
  Database::Transaction tx(db_);
  remove_entries(archive, "e.archive = ?1", INT64_MAX);
  for (const char* sql : {"DELETE FROM archive_counts WHERE archive = ?1", "DELETE FROM archive_preferences WHERE archive = ?1"}) {
    Statement s(db_, sql);
    s.bind(1, archive).exec();
  }
  tx.commit();
}

std::int64_t ArchiveStore::expire_before(std::int64_t id, std::int64_t limit) {
  Database::Transaction tx(db_);
  // First every archive's entries older than `id` (a range of each archive's key, found
  // through the counts table, which names every archive)...
  create_doomed();
  Statement fill(db_, "INSERT INTO archive_doomed SELECT e.archive, e.id, e.with_bare FROM archive_counts c "
                      "JOIN archive_entries e ON e.archive = c.archive AND e.id < ?1 LIMIT ?2");
  fill.bind(1, id).bind(2, limit).exec();
  std::int64_t removed = remove_doomed();
  if (removed < limit) {
    // ... then, all of them gone, the messages older than `id` (a range of the primary key).
    Statement unindex(db_, "INSERT INTO archive_text(archive_text, rowid, body) SELECT 'delete', id, body FROM "
                           "(SELECT id, body FROM archive_messages WHERE id < ?1 ORDER BY id LIMIT ?2) "
                           "WHERE body IS NOT NULL");
    unindex.bind(1, id).bind(2, limit - removed).exec();
    Statement remove(db_, "DELETE FROM archive_messages WHERE id IN "
                          "(SELECT id FROM archive_messages WHERE id < ?1 ORDER BY id LIMIT ?2)");
    removed += remove.bind(1, id).bind(2, limit - removed).exec();
  }
  tx.commit();
  return removed;
}

std::int64_t ArchiveStore::max_id() {
  Statement s(db_, "SELECT MAX(id) FROM archive_messages");
  return s.step() && !s.column_is_null(0) ? s.column_int(0) : 0;
}

std::map<std::string, Preferences> ArchiveStore::load_preferences() {
  Statement s(db_, "SELECT archive, default_mode, always, never FROM archive_preferences");
  std::map<std::string, Preferences> out;
  while (s.step())
    out[s.column_text(0)] = Preferences{s.column_text(1), split_lines(s.column_text(2)), split_lines(s.column_text(3))};
  return out;
}

void ArchiveStore::save_preferences(const std::string& archive, const Preferences& prefs) {
  Statement s(db_, "INSERT INTO archive_preferences(archive, default_mode, always, never) VALUES(?1, ?2, ?3, ?4) "
                   "ON CONFLICT(archive) DO UPDATE SET default_mode = excluded.default_mode, "
                   "always = excluded.always, never = excluded.never");
  s.bind(1, archive).bind(2, prefs.default_mode).bind(3, lines(prefs.always)).bind(4, lines(prefs.never)).exec();
}

}  // namespace archive

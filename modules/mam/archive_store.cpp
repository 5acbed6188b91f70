#include "archive_store.hpp"

#include <openssl/sha.h>

#include <algorithm>
#include <charconv>
#include <sstream>
#include <unordered_map>

namespace archive {
namespace {

using xmppd::storage::Database;
using xmppd::storage::Statement;
using xmppd::storage::StatementUse;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE archive_messages(
         id INTEGER PRIMARY KEY,      -- microseconds since the epoch, unique: the stanza-id
         keys TEXT NOT NULL,          -- search keys (see keys_of): which archives hold it
         sender TEXT NOT NULL,        -- real bare JID of the sender
         stanza TEXT NOT NULL,        -- serialized in jabber:client; a tombstone once retracted
         body TEXT                    -- what full-text search sees; NULL for nothing
       );
       CREATE VIRTUAL TABLE archive_index USING fts5(
         keys, body, content='archive_messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2');
       CREATE TABLE archive_counts(archive_key TEXT PRIMARY KEY, messages INTEGER NOT NULL);
       CREATE TABLE archive_preferences(
         archive TEXT PRIMARY KEY,
         default_mode TEXT NOT NULL,
         always TEXT NOT NULL,        -- bare JIDs, one per line
         never TEXT NOT NULL
       );
       -- Accounts deleted (by the server or by xmppctl) whose archive is still to be removed:
       -- their messages up to up_to are not shown to an account made again with that JID.
       CREATE TABLE archive_forgotten(archive TEXT PRIMARY KEY, up_to INTEGER NOT NULL);
       CREATE TRIGGER archive_account_deleted AFTER DELETE ON accounts BEGIN
         INSERT OR REPLACE INTO archive_forgotten(archive, up_to)
           VALUES(OLD.username || '@' || OLD.domain, (SELECT COALESCE(MAX(id), 0) FROM archive_messages));
         DELETE FROM archive_preferences WHERE archive = OLD.username || '@' || OLD.domain;
       END;)",
};

Database& migrated(Database& db) {
  db.migrate("archive", kMigrations);
  return db;
}

// A search key: a letter for its kind and 64 bits of SHA-256 in hex, so that no JID can be
// chosen to collide with another's. Kinds: a (an archive), w (an archive's conversation
// with a bare JID or nick), r (... with a full JID), m (a message id).
std::string make_key(char kind, std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(1, kind);
  for (int i = 0; i < 8; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

constexpr std::size_t kMaxCachedKeys = 100'000;

std::string lines(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& i : items) out += i + '\n';
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string part; std::getline(in, part, separator);)
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

std::string ArchiveStore::key(char kind, const std::string& text) {
  if (keys_.size() >= kMaxCachedKeys) keys_.clear();
  std::string lookup = kind + text;
  auto it = keys_.find(lookup);
  if (it == keys_.end()) it = keys_.emplace(std::move(lookup), make_key(kind, text)).first;
  return it->second;
}

// One archive's keys in a message's `keys`: "a…:w…:r…" (the tokenizer splits on ':').
std::string ArchiveStore::group_of(const Entry& e) {
  std::string with = e.archive + '\n' + e.with_bare;
  std::string g = key('a', e.archive) + ':' + key('w', with);
  if (!e.with_resource.empty()) g += ':' + key('r', with + '/' + e.with_resource);
  return g;
}

ArchiveStore::ArchiveStore(Database& db)
    : db_(migrated(db)),
      account_exists_(db, "SELECT 1 FROM accounts WHERE username = ?1 AND domain = ?2"),
      in_roster_(db, "SELECT 1 FROM roster_items WHERE username = ?1 AND domain = ?2 AND contact = ?3"),
      insert_message_(db, "INSERT OR IGNORE INTO archive_messages(id, keys, sender, stanza, body) "
                          "VALUES(?1, ?2, ?3, ?4, ?5)"),
      index_(db, "INSERT INTO archive_index(rowid, keys, body) VALUES(?1, ?2, ?3)"),
      unindex_(db, "INSERT INTO archive_index(archive_index, rowid, keys, body) VALUES('delete', ?1, ?2, ?3)"),
      read_message_(db, "SELECT keys, body, stanza FROM archive_messages WHERE id = ?1"),
      update_message_(db, "UPDATE archive_messages SET keys = ?2, stanza = ?3, body = ?4 WHERE id = ?1"),
      delete_message_(db, "DELETE FROM archive_messages WHERE id = ?1"),
      bump_count_(db, "INSERT INTO archive_counts(archive_key, messages) VALUES(?1, ?2) "
                      "ON CONFLICT(archive_key) DO UPDATE SET messages = messages + excluded.messages"),
      read_count_(db, "SELECT messages FROM archive_counts WHERE archive_key = ?1"),
      forgotten_(db, "SELECT up_to FROM archive_forgotten WHERE archive = ?1") {}

void ArchiveStore::add_all(const std::vector<Entry>& entries, std::int64_t max_messages) {
  Database::Transaction tx(db_);
  struct NewRow {
    std::string keys;
    const Entry* first;
  };
  // Entries of one message (the sender's and a local recipient's archive) make one row.
  std::vector<std::int64_t> order;
  std::unordered_map<std::int64_t, NewRow> rows;
  std::vector<const Entry*> late;  // shares a message written by an earlier transaction
  std::map<std::string, std::int64_t> added;
  for (const Entry& e : entries) {
    auto at = e.archive.find('@');
    std::string_view node = std::string_view(e.archive).substr(0, at);
    std::string_view domain = at == std::string::npos ? std::string_view() : std::string_view(e.archive).substr(at + 1);
    if (e.account) {
      Statement& check = e.only_if_in_roster ? in_roster_ : account_exists_;
      StatementUse use(check);
      check.bind(1, node).bind(2, domain);
      if (e.only_if_in_roster) check.bind(3, e.with_bare);
      if (!check.step()) continue;  // the account is gone, or the contact not in its roster
    }
    added[e.archive] += 1;
    auto it = rows.find(e.id);
    if (it != rows.end()) {
      it->second.keys += ' ' + group_of(e);
    } else if (e.shares_content) {
      late.push_back(&e);
    } else {
      std::string keys = group_of(e);
      if (!e.message_id.empty()) keys += ' ' + make_key('m', e.message_id);  // each one new
      rows.emplace(e.id, NewRow{std::move(keys), &e});
      order.push_back(e.id);
    }
  }
  for (std::int64_t id : order) {
    const NewRow& row = rows.at(id);
    const Entry& e = *row.first;
    {
      StatementUse use(insert_message_);
      insert_message_.bind(1, id).bind(2, row.keys).bind(3, e.sender).bind(4, e.stanza);
      if (e.text.empty()) insert_message_.bind_null(5);
      else insert_message_.bind(5, e.text);
      if (insert_message_.exec() == 0) continue;
    }
    index(id, row.keys, e.text.empty() ? nullptr : &e.text);
  }
  for (const Entry* e : late) {
    std::optional<Row> row = read_row(e->id);
    if (!row) {
      added[e->archive] -= 1;  // the sender's copy never made it
      continue;
    }
    unindex(e->id, *row);
    row->keys += ' ' + group_of(*e);
    rewrite(e->id, *row);
  }
  for (const auto& [archive, n] : added) {
    if (n != 0) add_count(archive, n);
    if (max_messages <= 0) continue;
    StatementUse use(read_count_);
    std::int64_t count = read_count_.bind(1, key('a', archive)).step() ? read_count_.column_int(0) : 0;
    if (count > max_messages) drop_from(archive, oldest_ids(archive, INT64_MAX, count - max_messages));
  }
  tx.commit();
}

void ArchiveStore::add_count(const std::string& archive, std::int64_t delta) {
  StatementUse use(bump_count_);
  bump_count_.bind(1, key('a', archive)).bind(2, delta).exec();
}

std::int64_t ArchiveStore::forgotten_up_to(const std::string& archive) {
  StatementUse use(forgotten_);
  return forgotten_.bind(1, archive).step() ? forgotten_.column_int(0) : -1;
}

std::vector<std::int64_t> ArchiveStore::oldest_ids(const std::string& archive, std::int64_t before,
                                                  std::int64_t limit) {
  Statement s(db_, "SELECT rowid FROM archive_index WHERE archive_index MATCH ?1 AND rowid < ?2 "
                   "ORDER BY rowid ASC LIMIT ?3");
  s.bind(1, match_archive(archive)).bind(2, before).bind(3, limit);
  std::vector<std::int64_t> ids;
  while (s.step()) ids.push_back(s.column_int(0));
  return ids;
}

void ArchiveStore::drop_from(const std::string& archive, const std::vector<std::int64_t>& ids) {
  const std::string mine = key('a', archive);
  std::int64_t dropped = 0;
  for (std::int64_t id : ids) {
    std::optional<Row> row = read_row(id);
    if (!row) continue;
    unindex(id, *row);
    ++dropped;
    // Keep the other archives' groups (and the message id key, if any archive is left).
    std::string kept;
    bool archives_left = false;
    for (const std::string& group : split(row->keys, ' ')) {
      if (group.rfind(mine, 0) == 0) continue;
      archives_left |= group[0] == 'a';
      kept += (kept.empty() ? "" : " ") + group;
    }
    if (!archives_left) {
      StatementUse use(delete_message_);
      delete_message_.bind(1, id).exec();
      continue;
    }
    row->keys = std::move(kept);
    rewrite(id, *row);
  }
  if (dropped) add_count(archive, -dropped);
}

std::optional<ArchiveStore::Row> ArchiveStore::read_row(std::int64_t id) {
  StatementUse use(read_message_);
  if (!read_message_.bind(1, id).step()) return std::nullopt;
  Row row{read_message_.column_text(0), std::nullopt, read_message_.column_text(2)};
  if (!read_message_.column_is_null(1)) row.body = read_message_.column_text(1);
  return row;
}

void ArchiveStore::index(std::int64_t id, const std::string& keys, const std::string* body) {
  StatementUse use(index_);
  index_.bind(1, id).bind(2, keys);
  if (body) index_.bind(3, *body);
  else index_.bind_null(3);
  index_.exec();
}

void ArchiveStore::unindex(std::int64_t id, const Row& row) {
  StatementUse use(unindex_);
  unindex_.bind(1, id).bind(2, row.keys);
  if (row.body) unindex_.bind(3, *row.body);
  else unindex_.bind_null(3);
  unindex_.exec();
}

void ArchiveStore::rewrite(std::int64_t id, const Row& row) {
  {
    StatementUse use(update_message_);
    update_message_.bind(1, id).bind(2, row.keys).bind(3, row.stanza);
    if (row.body) update_message_.bind(4, *row.body);
    else update_message_.bind_null(4);
    update_message_.exec();
  }
  index(id, row.keys, row.body ? &*row.body : nullptr);
}

Page ArchiveStore::query(const Query& q) {
  std::string match = match_archive(q.archive);
  if (q.with_bare) match += " AND keys : " + key('w', q.archive + '\n' + *q.with_bare);
  if (q.with_resource && q.with_bare)
    match += " AND keys : " + key('r', q.archive + '\n' + *q.with_bare + '/' + *q.with_resource);
  if (!q.fulltext.empty()) match += " AND body : (" + q.fulltext + ")";
  std::string ids;
  for (std::size_t i = 0; i < q.ids.size(); ++i) ids += (i ? "," : "") + std::to_string(q.ids[i]);
  std::string where = "archive_index MATCH ?1 AND archive_index.rowid > ?2 AND archive_index.rowid < ?3";
  if (!q.ids.empty()) where += " AND archive_index.rowid IN (" + ids + ")";
  std::int64_t forgotten = forgotten_up_to(q.archive);
  std::int64_t after = std::max({q.after, q.page_after, forgotten});

  Page page;
  Statement select(db_, "SELECT m.id, m.stanza FROM archive_index JOIN archive_messages m ON m.id = "
                        "archive_index.rowid WHERE " + where + " ORDER BY archive_index.rowid " +
                            (q.newest_first ? "DESC" : "ASC") + " LIMIT " + std::to_string(q.max + 1));
  select.bind(1, match).bind(2, after).bind(3, std::min(q.before, q.page_before));
  while (select.step()) {
    if (page.items.size() == q.max) {
      page.complete = false;
      break;
    }
    page.items.push_back({select.column_int(0), select.column_text(1)});
  }
  if (q.newest_first) std::reverse(page.items.begin(), page.items.end());

  // The count, where it is cheap: the whole archive (kept in a table), or one conversation
  // or a list of ids (short lists of keys). A time range of a large archive, or a search,
  // would cost as much as reading it all: no count.
  bool bounded = q.after >= 0 || q.before != INT64_MAX;
  if (forgotten >= 0 || !q.fulltext.empty()) {
  } else if (!q.with_bare && q.ids.empty() && !bounded) {
    StatementUse use(read_count_);
    page.count = read_count_.bind(1, key('a', q.archive)).step() ? read_count_.column_int(0) : 0;
  } else if (q.with_bare || !q.ids.empty()) {
    Statement count(db_, "SELECT COUNT(*) FROM archive_index WHERE " + where);
    count.bind(1, match).bind(2, std::max(q.after, forgotten)).bind(3, q.before);
    count.step();
    page.count = count.column_int(0);
  }
  return page;
}

bool ArchiveStore::contains(const std::string& archive, std::int64_t id) {
  if (id <= forgotten_up_to(archive)) return false;
  Statement s(db_, "SELECT 1 FROM archive_index WHERE archive_index MATCH ?1 AND rowid = ?2");
  return s.bind(1, match_archive(archive)).bind(2, id).step();
}

std::vector<ArchiveStore::Stored> ArchiveStore::find(const std::string& archive, const std::string& message_id,
                                                     bool by_stanza_id) {
  std::vector<Stored> out;
  std::string match = match_archive(archive);
  std::string sql = "SELECT m.id, m.sender, m.stanza FROM archive_index JOIN archive_messages m ON m.id = "
                    "archive_index.rowid WHERE archive_index MATCH ?1 AND archive_index.rowid > ?2";
  std::int64_t id = -1;
  if (by_stanza_id) {
    auto [end, ec] = std::from_chars(message_id.data(), message_id.data() + message_id.size(), id);
    if (ec != std::errc() || end != message_id.data() + message_id.size()) return out;
    sql += " AND archive_index.rowid = ?3";
  } else {
    match += " AND keys : " + make_key('m', message_id);
  }
  Statement s(db_, sql + " ORDER BY archive_index.rowid");
  s.bind(1, match).bind(2, forgotten_up_to(archive));
  if (by_stanza_id) s.bind(3, id);
  while (s.step()) out.push_back({s.column_int(0), s.column_text(1), s.column_text(2)});
  return out;
}

void ArchiveStore::replace(std::int64_t id, const std::string& stanza) {
  std::optional<Row> row = read_row(id);
  if (!row) return;
  unindex(id, *row);
  row->stanza = stanza;
  row->body.reset();  // a tombstone has nothing to find
  rewrite(id, *row);
}

std::optional<std::pair<std::int64_t, std::int64_t>> ArchiveStore::bounds(const std::string& archive) {
  std::int64_t forgotten = forgotten_up_to(archive);
  auto end = [&](const char* order) -> std::optional<std::int64_t> {
    Statement s(db_, std::string("SELECT rowid FROM archive_index WHERE archive_index MATCH ?1 AND rowid > ?2 "
                                 "ORDER BY rowid ") + order + " LIMIT 1");
    if (!s.bind(1, match_archive(archive)).bind(2, forgotten).step()) return std::nullopt;
    return s.column_int(0);
  };
  auto first = end("ASC"), last = end("DESC");
  if (!first || !last) return std::nullopt;
  return std::pair{*first, *last};
}

std::vector<Found> ArchiveStore::newest(const std::string& archive, std::size_t n) {
  Query q;
  q.archive = archive;
  q.max = n;
  q.newest_first = true;
  return query(q).items;
}

void ArchiveStore::remove_archive(const std::string& archive) {
  Database::Transaction tx(db_);
  for (std::vector<std::int64_t> ids; !(ids = oldest_ids(archive, INT64_MAX, 1000)).empty();) drop_from(archive, ids);
  Statement prefs(db_, "DELETE FROM archive_preferences WHERE archive = ?1");
  prefs.bind(1, archive).exec();
  Statement counts(db_, "DELETE FROM archive_counts WHERE archive_key = ?1");
  counts.bind(1, key('a', archive)).exec();
  tx.commit();
}

bool ArchiveStore::remove_forgotten(std::int64_t limit) {
  Database::Transaction tx(db_);
  Statement next(db_, "SELECT archive, up_to FROM archive_forgotten LIMIT 1");
  if (!next.step()) return true;
  std::string archive = next.column_text(0);
  std::int64_t up_to = next.column_int(1);
  std::vector<std::int64_t> ids = oldest_ids(archive, up_to + 1, limit);
  drop_from(archive, ids);
  if (std::int64_t(ids.size()) < limit) {
    Statement done(db_, "DELETE FROM archive_forgotten WHERE archive = ?1 AND up_to = ?2");
    done.bind(1, archive).bind(2, up_to).exec();
  }
  tx.commit();
  return false;
}

std::int64_t ArchiveStore::expire_before(std::int64_t id, std::int64_t limit) {
  Database::Transaction tx(db_);
  // The oldest messages are the lowest ids, whatever archives hold them.
  Statement old(db_, "SELECT id, keys, body FROM archive_messages WHERE id < ?1 ORDER BY id LIMIT ?2");
  old.bind(1, id).bind(2, limit);
  std::map<std::string, std::int64_t> removed_from;  // archive key → messages
  std::int64_t removed = 0;
  while (old.step()) {
    std::int64_t message = old.column_int(0);
    std::string keys = old.column_text(1);
    for (const std::string& group : split(keys, ' '))
      if (group[0] == 'a') removed_from[group.substr(0, group.find(':'))] += 1;
    Row row{keys, std::nullopt, {}};
    if (!old.column_is_null(2)) row.body = old.column_text(2);
    unindex(message, row);
    StatementUse use(delete_message_);
    delete_message_.bind(1, message).exec();
    ++removed;
  }
  for (const auto& [archive, n] : removed_from) {
    StatementUse use(bump_count_);
    bump_count_.bind(1, archive).bind(2, -n).exec();
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
    out[s.column_text(0)] = Preferences{s.column_text(1), split(s.column_text(2), '\n'), split(s.column_text(3), '\n')};
  return out;
}

void ArchiveStore::save_preferences(const std::string& archive, const Preferences& prefs) {
  Statement s(db_, "INSERT INTO archive_preferences(archive, default_mode, always, never) VALUES(?1, ?2, ?3, ?4) "
                   "ON CONFLICT(archive) DO UPDATE SET default_mode = excluded.default_mode, "
                   "always = excluded.always, never = excluded.never");
  s.bind(1, archive).bind(2, prefs.default_mode).bind(3, lines(prefs.always)).bind(4, lines(prefs.never)).exec();
}

}  // namespace archive

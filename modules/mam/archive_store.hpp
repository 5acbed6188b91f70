// The message archive, shared by every account and room archive: each message once (a
// conversation between two local users is in both their archives, one copy), per-archive
// counts and preferences. Which archives hold a message, with whom, and what its body says
// are search keys in one SQLite FTS5 index: an LSM tree, so appending costs sequential
// writes however many archives are active, where a B-tree index per archive would rewrite
// a random page for nearly every message.
// Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "storage/database.hpp"

namespace archive {

// A message to append. `id` is unique across all archives (see IdClock).
struct Entry {
  std::string archive;        // bare JID of the account or room
  std::int64_t id = 0;        // microseconds since the epoch
  std::string with_bare;      // account archive: the other party; room archive: the sender's nick
  std::string with_resource;  // account archive only
  std::string sender;         // real bare JID of whoever sent it (retractions must match)
  std::string message_id;     // origin-id or 'id'
  std::string stanza;         // serialized in jabber:client
  std::string text;           // for full-text search; empty for none
  bool account = true;        // an account's archive: stored only while the account exists
  bool only_if_in_roster = false;  // ... and only if with_bare is in its roster
  bool shares_content = false;  // the message itself comes with an earlier entry of this id
                                // (the sender's archive): this one only adds its archive
};

// A search of one archive. Bounds are exclusive ids; the time bounds of a query are ids
// too, ids being times.
struct Query {
  std::string archive;
  std::optional<std::string> with_bare, with_resource;
  std::int64_t after = -1;                     // lower bound (exclusive)
  std::int64_t before = INT64_MAX;             // upper bound (exclusive)
  std::int64_t page_after = -1, page_before = INT64_MAX;  // RSM bounds: do not change count
  std::vector<std::int64_t> ids;               // only these (with the other filters)
  std::string fulltext;                        // FTS5 phrases ("word" "word"), empty for none
  std::size_t max = 50;
  bool newest_first = false;                   // paging backwards (RSM <before/>)
};

struct Found {
  std::int64_t id;
  std::string stanza;
};

struct Page {
  std::vector<Found> items;  // archive order
  bool complete = true;      // nothing further in the direction paged
  std::optional<std::int64_t> count;  // messages the query matches, when cheap to know
};

struct Preferences {
  std::string default_mode = "always";  // always, roster, never
  std::vector<std::string> always, never;  // bare JIDs
};

enum class RetractOutcome { retracted, not_found, forbidden };

class ArchiveStore {
 public:
  explicit ArchiveStore(xmppd::storage::Database& db);

  // Appends in one transaction (an account's entries only while the account exists); an
  // archive over `max_messages` (0: no limit) loses its oldest messages.
  void add_all(const std::vector<Entry>& entries, std::int64_t max_messages);
  Page query(const Query& q);
  bool contains(const std::string& archive, std::int64_t id);
  // Replaces the message `message_id` names in `archive` with `tombstone` (the function
  // builds it from the stored stanza) if `sender` sent it; forbidden if someone else did
  // (and `sender` is not empty: empty means whoever did, for moderators).
  template <class MakeTombstone>
  RetractOutcome retract(const std::string& archive, const std::string& sender, const std::string& message_id,
                         bool by_stanza_id, MakeTombstone make_tombstone);
  // The first and last message of an archive (XEP-0313 §7 metadata).
  std::optional<std::pair<std::int64_t, std::int64_t>> bounds(const std::string& archive);
  // The newest `n` messages, oldest first (a room's join history).
  std::vector<Found> newest(const std::string& archive, std::size_t n);
  void remove_archive(const std::string& archive);
  // Archives of accounts deleted since (by anyone: a trigger notes them, and queries see
  // nothing of them meanwhile), removed a chunk at a time; true when none is left.
  bool remove_forgotten(std::int64_t limit);
  // Deletes up to `limit` messages older than `id`; returns how many.
  std::int64_t expire_before(std::int64_t id, std::int64_t limit);
  std::int64_t max_id();

  std::map<std::string, Preferences> load_preferences();
  void save_preferences(const std::string& archive, const Preferences& prefs);

 private:
  struct Stored {
    std::int64_t id;
    std::string sender;
    std::string stanza;
  };
  // A stored message as the index sees it.
  struct Row {
    std::string keys;
    std::optional<std::string> body;
    std::string stanza;
  };
  std::optional<Row> read_row(std::int64_t id);
  void index(std::int64_t id, const std::string& keys, const std::string* body);
  void unindex(std::int64_t id, const Row& row);  // before the row changes or goes
  void rewrite(std::int64_t id, const Row& row);  // stores and indexes it again
  // The messages `message_id` may name, oldest first.
  std::vector<Stored> find(const std::string& archive, const std::string& message_id, bool by_stanza_id);
  void replace(std::int64_t id, const std::string& stanza);
  // Takes `archive`'s keys off these messages; a message no archive holds any more goes.
  void drop_from(const std::string& archive, const std::vector<std::int64_t>& ids);
  // The archive's oldest ids below `before`, at most `limit`.
  std::vector<std::int64_t> oldest_ids(const std::string& archive, std::int64_t before, std::int64_t limit);
  void add_count(const std::string& archive, std::int64_t delta);
  // An archive's messages up to this id belong to an account deleted since: not shown.
  std::int64_t forgotten_up_to(const std::string& archive);

  // Search keys of the archives and conversations seen lately: each costs a SHA-256.
  std::string key(char kind, const std::string& text);
  std::string group_of(const Entry& e);
  std::string match_archive(const std::string& archive) { return "keys : " + key('a', archive); }

  xmppd::storage::Database& db_;
  std::unordered_map<std::string, std::string> keys_;  // kind + text → key
  xmppd::storage::Statement account_exists_;
  xmppd::storage::Statement in_roster_;
  xmppd::storage::Statement insert_message_;
  xmppd::storage::Statement index_;
  xmppd::storage::Statement unindex_;
  xmppd::storage::Statement read_message_;
  xmppd::storage::Statement update_message_;
  xmppd::storage::Statement delete_message_;
  xmppd::storage::Statement bump_count_;
  xmppd::storage::Statement read_count_;
  xmppd::storage::Statement forgotten_;
};

template <class MakeTombstone>
RetractOutcome ArchiveStore::retract(const std::string& archive, const std::string& sender,
                                     const std::string& message_id, bool by_stanza_id,
                                     MakeTombstone make_tombstone) {
  std::vector<Stored> candidates = find(archive, message_id, by_stanza_id);
  if (candidates.empty()) return RetractOutcome::not_found;
  const Stored* found = nullptr;
  for (const Stored& c : candidates)
    if (sender.empty() || c.sender == sender) found = &c;  // the newest of them
  if (!found) return RetractOutcome::forbidden;
  xmppd::storage::Database::Transaction tx(db_);
  replace(found->id, make_tombstone(found->stanza));
  tx.commit();
  return RetractOutcome::retracted;
}

}  // namespace archive

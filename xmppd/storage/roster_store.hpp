// Rosters (RFC 6121 §2) and the subscription state behind them (§3), per user.
// Blocking: call on the storage thread (see StorageThread).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xmppd::storage {

// RFC 6121 §2.1.2.5: whose presence flows where.
enum class Subscription { none, to, from, both };

// The user's relationship with one contact. A row exists for every contact the user has on
// the roster, and also for one that only asked to subscribe (in_roster false): RFC 6121
// §3.1.3 keeps such a request without adding a roster item.
struct RosterItem {
  std::string jid;  // the contact's bare JID, normalized
  std::string name;
  Subscription subscription = Subscription::none;
  bool ask = false;          // our subscribe request awaits the contact's answer (pending out)
  bool approved = false;     // pre-approved: the contact's request will be accepted (§3.4)
  bool pending_in = false;   // the contact asked to subscribe and awaits our answer
  std::string pending_stanza;  // that request, serialized, redelivered at login
  bool in_roster = true;
  std::vector<std::string> groups;
};

class RosterStore {
 public:
  virtual ~RosterStore() = default;
  // `user` and `domain` are normalized; `contact` is a normalized bare JID.
  // The roster: items with in_roster, ordered by JID.
  virtual std::vector<RosterItem> items(const std::string& user, const std::string& domain) = 0;
  // The row for one contact, roster item or pending request alike.
  virtual std::optional<RosterItem> item(const std::string& user, const std::string& domain,
                                         const std::string& contact) = 0;
  // Contacts whose subscription request awaits the user's answer.
  virtual std::vector<RosterItem> pending_in(const std::string& user, const std::string& domain) = 0;
  // Creates or replaces the row (groups included) in one transaction and returns the new
  // roster version. A row that records nothing (not on the roster, no pending request) is
  // deleted instead.
  virtual std::int64_t save(const std::string& user, const std::string& domain, const RosterItem& item) = 0;
  // Deletes the row; returns the new roster version.
  virtual std::int64_t remove(const std::string& user, const std::string& domain, const std::string& contact) = 0;
  // XEP-0237: a counter bumped by every change; 0 for a roster never written.
  virtual std::int64_t version(const std::string& user, const std::string& domain) = 0;
  // Roster items (in_roster), for the per-user limit.
  virtual std::size_t count(const std::string& user, const std::string& domain) = 0;
};

// Names used on the wire ("none", "to", "from", "both").
const char* to_string(Subscription s);
std::optional<Subscription> subscription_from_string(std::string_view text);

class Database;
// The SQLite implementation. Creates or upgrades its tables first (after the accounts
// tables, which they reference).
std::unique_ptr<RosterStore> open_sqlite_roster_store(Database& db);

}  // namespace xmppd::storage

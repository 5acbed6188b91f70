// The blocklists in memory: every list that is not empty (read at start, so a message for
// a user who is offline is judged as for one who is online, XEP-0191 §3.5), and who of
// each user is online and asked for the list. The stanza hooks consult it for every
// stanza, so they never touch storage. Safe to use from any network thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <xmppd/jid.hpp>

namespace xmppd::blocking {

// XEP-0191 §6 (the XEP-0016 rules): whether a blocklist item covers `jid`.
bool item_matches(const Jid& item, const Jid& jid);

class BlocklistCache {
 public:
  // A session of the account came online; true if it is the account's first, so the
  // caller should load the list from storage.
  bool session_bound(const Jid& full);
  void session_closed(const Jid& full);

  // Replaces the account's list, unless a newer snapshot (higher version) is cached.
  void update(const Jid& bare, const std::vector<std::string>& jids, std::uint64_t version);
  // The lists as stored when the server starts: (bare JID, blocked JID) pairs.
  void preload(const std::vector<std::pair<std::string, std::string>>& rows);
  // The account is gone, and its list with it.
  void forget(const Jid& bare);

  // The account's list as cached.
  std::vector<std::string> jids(const Jid& bare) const;

  // Whether `owner` (its bare JID; a resource is ignored) blocks `other`.
  bool blocks(const Jid& owner, const Jid& other) const;

  // XEP-0191 §3.3: pushes go to the resources that asked for the blocklist.
  void requested_blocklist(const Jid& full);
  std::vector<Jid> push_targets(const Jid& bare) const;

 private:
  struct Entry {
    std::set<std::string> resources;   // bound sessions
    std::set<std::string> requesters;  // resources that retrieved the blocklist
    std::vector<Jid> items;
    std::uint64_t version = 0;
  };

  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> users_;  // by bare JID
};

}  // namespace xmppd::blocking

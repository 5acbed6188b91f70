// The available resources of this host's users: each one's last broadcast presence and
// the entities it sent directed presence to (RFC 6121 §4.6), which must hear of its
// unavailability. Shared by all network threads: one mutex, held for a map operation.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

namespace xmppd::presence {

class PresenceTable {
 public:
  // Records `presence` as the resource's current presence; true if it was unavailable
  // before (this is its initial presence).
  bool set_available(const Jid& full, Element presence) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] = resources_.try_emplace(full.str());
    it->second.presence = std::move(presence);
    return inserted;
  }

  // Forgets the resource; the directed-presence recipients it had, or nullopt if it was
  // not available.
  std::optional<std::set<std::string>> set_unavailable(const Jid& full) {
    std::lock_guard lock(mutex_);
    auto it = resources_.find(full.str());
    if (it == resources_.end()) return std::nullopt;
    std::set<std::string> directed = std::move(it->second.directed);
    resources_.erase(it);
    return directed;
  }

  // The resource's last broadcast presence, if it is available.
  std::optional<Element> last(const Jid& full) const {
    std::lock_guard lock(mutex_);
    auto it = resources_.find(full.str());
    if (it == resources_.end()) return std::nullopt;
    return it->second.presence;
  }

  // Directed presence sent by an available resource: remembered (available) or forgotten
  // (unavailable). An unavailable resource's directed presence needs no follow-up.
  void directed(const Jid& from_full, const std::string& to, bool available) {
    std::lock_guard lock(mutex_);
    auto it = resources_.find(from_full.str());
    if (it == resources_.end()) return;
    if (available) it->second.directed.insert(to);
    else it->second.directed.erase(to);
  }

 private:
  struct Resource {
    Element presence;
    std::set<std::string> directed;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Resource> resources_;  // by full JID
};

}  // namespace xmppd::presence

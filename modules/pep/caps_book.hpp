// What each available resource of this host's users can do (XEP-0115): the 'ver' its
// presence announced, and the features behind each 'ver', learned once by asking one
// resource that announced it (disco#info) and checking the answer hashes to that 'ver'.
// PEP notifies a resource of a node only if its features include "<node>+notify".
// Shared by every network thread: one mutex, held for a map operation (or one fan-out).
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <xmppd/jid.hpp>

namespace pep {

class CapsBook {
 public:
  // The resource announced `ver`; true if nobody has asked what it means yet (the caller
  // asks now, once for all resources announcing it).
  bool announce(const xmppd::Jid& full, const std::string& ver) {
    std::lock_guard lock(mutex_);
    auto& resources = accounts_[full.bare_str()];
    auto it = std::find_if(resources.begin(), resources.end(), [&full](const Resource& r) { return r.jid == full; });
    if (it == resources.end()) resources.push_back({full, ver});
    else it->ver = ver;
    if (features_.contains(ver) || asking_.contains(ver)) return false;
    asking_.insert(ver);
    return true;
  }
  void forget(const xmppd::Jid& full) {
    std::lock_guard lock(mutex_);
    auto account = accounts_.find(full.bare_str());
    if (account == accounts_.end()) return;
    std::erase_if(account->second, [&full](const Resource& r) { return r.jid == full; });
    if (account->second.empty()) accounts_.erase(account);
  }
  // The answer came (nullopt: none, or one that did not hash to `ver`: ask again next time).
  void learned(const std::string& ver, std::optional<std::set<std::string>> features) {
    std::lock_guard lock(mutex_);
    asking_.erase(ver);
    if (features) features_[ver] = std::move(*features);
  }
  // Whether what the resource's caps mean is known (verified).
  bool known(const xmppd::Jid& full) const {
    std::lock_guard lock(mutex_);
    const Resource* r = find(full);
    return r && features_.contains(r->ver);
  }
  // Whether the resource wants notifications of `node`; nullopt while its caps are unknown.
  std::optional<bool> wants(const xmppd::Jid& full, const std::string& node) const {
    std::lock_guard lock(mutex_);
    const Resource* r = find(full);
    if (!r) return false;
    auto f = features_.find(r->ver);
    if (f == features_.end()) return std::nullopt;
    return f->second.contains(node + "+notify");
  }
  // The resources of these accounts (bare JIDs) that want notifications of `node`: one
  // lock and one feature lookup per 'ver' for a whole fan-out.
  std::vector<xmppd::Jid> wanting(const std::string& node, const std::vector<std::string>& accounts) const {
    std::string feature = node + "+notify";
    std::vector<xmppd::Jid> out;
    std::lock_guard lock(mutex_);
    const std::string* last_ver = nullptr;
    bool last_wants = false;
    for (const std::string& bare : accounts) {
      auto account = accounts_.find(bare);
      if (account == accounts_.end()) continue;
      for (const Resource& r : account->second) {
        if (!last_ver || *last_ver != r.ver) {
          auto f = features_.find(r.ver);
          last_ver = &r.ver;
          last_wants = f != features_.end() && f->second.contains(feature);
        }
        if (last_wants) out.push_back(r.jid);
      }
    }
    return out;
  }
  // The resources that announced `ver`.
  std::vector<xmppd::Jid> announcing(const std::string& ver) const {
    std::lock_guard lock(mutex_);
    std::vector<xmppd::Jid> out;
    for (const auto& [bare, resources] : accounts_)
      for (const Resource& r : resources)
        if (r.ver == ver) out.push_back(r.jid);
    return out;
  }

 private:
  struct Resource {
    xmppd::Jid jid;  // full
    std::string ver;
  };
  const Resource* find(const xmppd::Jid& full) const {
    auto account = accounts_.find(full.bare_str());
    if (account == accounts_.end()) return nullptr;
    for (const Resource& r : account->second)
      if (r.jid == full) return &r;
    return nullptr;
  }

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<Resource>> accounts_;  // bare JID → its resources
  std::map<std::string, std::set<std::string>> features_;            // ver → features (verified)
  std::set<std::string> asking_;                                     // vers asked about, unanswered
};

}  // namespace pep

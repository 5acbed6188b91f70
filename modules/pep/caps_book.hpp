// What each available resource of this host's users can do (XEP-0115): the 'ver' its
// presence announced, and the features behind each 'ver', learned once by asking one
// resource that announced it (disco#info) and checking the answer hashes to that 'ver'.
// PEP notifies a resource of a node only if its features include "<node>+notify".
// Shared by every network thread: one mutex, held for a map operation.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pep {

class CapsBook {
 public:
  // The resource announced `ver`; true if nobody has asked what it means yet (the caller
  // asks now, once for all resources announcing it).
  bool announce(const std::string& full, const std::string& ver) {
    std::lock_guard lock(mutex_);
    resources_[full] = ver;
    if (features_.contains(ver) || asking_.contains(ver)) return false;
    asking_.insert(ver);
    return true;
  }
  void forget(const std::string& full) {
    std::lock_guard lock(mutex_);
    resources_.erase(full);
  }
  // The answer came (nullopt: none, or one that did not hash to `ver`: ask again next time).
  void learned(const std::string& ver, std::optional<std::set<std::string>> features) {
    std::lock_guard lock(mutex_);
    asking_.erase(ver);
    if (features) features_[ver] = std::move(*features);
  }
  // Whether what the resource's caps mean is known (verified).
  bool known(const std::string& full) const {
    std::lock_guard lock(mutex_);
    auto r = resources_.find(full);
    return r != resources_.end() && features_.contains(r->second);
  }
  // Whether the resource wants notifications of `node`; nullopt while its caps are unknown.
  std::optional<bool> wants(const std::string& full, const std::string& node) const {
    std::lock_guard lock(mutex_);
    auto r = resources_.find(full);
    if (r == resources_.end()) return false;
    auto f = features_.find(r->second);
    if (f == features_.end()) return std::nullopt;
    return f->second.contains(node + "+notify");
  }
  // The resources that announced `ver`.
  std::vector<std::string> announcing(const std::string& ver) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& [full, v] : resources_)
      if (v == ver) out.push_back(full);
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> resources_;            // full JID → ver
  std::map<std::string, std::set<std::string>> features_;   // ver → features (verified)
  std::set<std::string> asking_;                            // vers asked about, unanswered
};

}  // namespace pep

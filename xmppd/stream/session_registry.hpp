// Every live client connection, bound or not, so that shutdown can reach them all.
// Touched on connect and disconnect only, never per stanza.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace xmppd::stream {

class C2SSession;

class SessionRegistry {
 public:
  void add(const std::shared_ptr<C2SSession>& s) {
    std::lock_guard lock(mutex_);
    sessions_[s.get()] = s;
  }
  void remove(const C2SSession* s) {
    std::lock_guard lock(mutex_);
    sessions_.erase(s);
  }
  std::vector<std::shared_ptr<C2SSession>> all() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<C2SSession>> out;
    for (const auto& [key, weak] : sessions_)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<const C2SSession*, std::weak_ptr<C2SSession>> sessions_;
};

}  // namespace xmppd::stream

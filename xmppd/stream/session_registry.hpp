// Every live client connection, bound or not, so that shutdown can reach them all, and how
// many come from each address (the per-IP connection limit). Touched on connect and
// disconnect only, never per stanza.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace xmppd::stream {

class C2SSession;

class SessionRegistry {
 public:
  // Records the connection; returns how many connections its address now has.
  unsigned add(const std::shared_ptr<C2SSession>& s, const std::string& address) {
    std::lock_guard lock(mutex_);
    sessions_[s.get()] = Entry{s, address};
    return ++per_address_[address];
  }
  void remove(const C2SSession* s) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(s);
    if (it == sessions_.end()) return;
    auto count = per_address_.find(it->second.address);
    if (--count->second == 0) per_address_.erase(count);
    sessions_.erase(it);
  }
  std::vector<std::shared_ptr<C2SSession>> all() const {
    std::lock_guard lock(mutex_);
    std::vector<std::shared_ptr<C2SSession>> out;
    for (const auto& [key, entry] : sessions_)
      if (auto s = entry.session.lock()) out.push_back(std::move(s));
    return out;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
  }

 private:
  struct Entry {
    std::weak_ptr<C2SSession> session;
    std::string address;
  };
  mutable std::mutex mutex_;
  std::unordered_map<const C2SSession*, Entry> sessions_;
  std::unordered_map<std::string, unsigned> per_address_;
};

}  // namespace xmppd::stream

// Sessions a client may resume (XEP-0198 §5), by their stream management id. Touched when
// a session enables resumption, resumes or ends: never per stanza.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace xmppd::stream {

class C2SSession;

class ResumptionTable {
 public:
  void add(const std::string& id, const std::shared_ptr<C2SSession>& session) {
    std::lock_guard lock(mutex_);
    entries_[id] = session;
  }
  void remove(const std::string& id) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  }
  // The session with that id, if any. The caller checks that it is the client's own.
  std::shared_ptr<C2SSession> find(const std::string& id) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : it->second.lock();
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::weak_ptr<C2SSession>> entries_;
};

}  // namespace xmppd::stream

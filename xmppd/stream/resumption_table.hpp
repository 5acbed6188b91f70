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
  void add(const std::string& id, const std::string& account, const std::shared_ptr<C2SSession>& session) {
    std::lock_guard lock(mutex_);
    entries_[id] = Entry{account, session};
  }
  void remove(const std::string& id) {
    std::lock_guard lock(mutex_);
    entries_.erase(id);
  }
  // The session with that id, if it belongs to `account` (bare JID): a client may only
  // resume its own sessions, and cannot tell another account's id from an unknown one.
  std::shared_ptr<C2SSession> find(const std::string& id, const std::string& account) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end() || it->second.account != account) return nullptr;
    return it->second.session.lock();
  }

 private:
  struct Entry {
    std::string account;
    std::weak_ptr<C2SSession> session;
  };
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace xmppd::stream

// XEP-0050 sessions of multi-stage commands: which admin started which command.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include <xmppd/jid.hpp>

namespace xmppd::adhoc {

class CommandSessions {
 public:
  // A new session of `node` for `owner` (full JID); returns its id.
  std::string open(const std::string& node, const Jid& owner);
  // Ends the session `id` if it belongs to `owner` and `node`; false if there is none such.
  bool close(const std::string& id, const std::string& node, const Jid& owner);

 private:
  struct Session {
    std::string node;
    Jid owner;
    std::chrono::steady_clock::time_point opened;
  };

  std::mutex mutex_;
  std::map<std::string, Session> sessions_;
};

}  // namespace xmppd::adhoc

// How many accounts each client address created lately: a sliding one-hour window.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

namespace xmppd::registration {

class RegistrationLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RegistrationLimiter(unsigned per_hour) : per_hour_(per_hour) {}

  // Claims one registration for `address`; false if it used up its hourly share.
  // Claiming before the account exists keeps parallel attempts from slipping through.
  bool claim(const std::string& address);
  // Gives a claim back: the account was not created after all.
  void release(const std::string& address);

 private:
  void forget_old(std::deque<Clock::time_point>& times, Clock::time_point now) const;

  unsigned per_hour_;
  std::mutex mutex_;
  std::map<std::string, std::deque<Clock::time_point>> created_;
};

}  // namespace xmppd::registration

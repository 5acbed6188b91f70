#include "registration_limiter.hpp"

#include <iterator>

namespace xmppd::registration {

void RegistrationLimiter::forget_old(std::deque<Clock::time_point>& times, Clock::time_point now) const {
  while (!times.empty() && now - times.front() >= std::chrono::hours(1)) times.pop_front();
}

bool RegistrationLimiter::claim(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto now = Clock::now();
  // Drop addresses whose window emptied, so the map only holds recent registrants.
  for (auto it = created_.begin(); it != created_.end();) {
    forget_old(it->second, now);
    it = it->second.empty() ? created_.erase(it) : std::next(it);
  }
  auto& times = created_[address];
  if (times.size() >= per_hour_) return false;
  times.push_back(now);
  return true;
}

void RegistrationLimiter::release(const std::string& address) {
  std::lock_guard lock(mutex_);
  auto it = created_.find(address);
  if (it == created_.end() || it->second.empty()) return;
  it->second.pop_back();
  if (it->second.empty()) created_.erase(it);
}

}  // namespace xmppd::registration

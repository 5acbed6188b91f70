#include "auth/auth_throttle.hpp"

namespace xmppd::auth {

void AuthThrottle::expire(Clock::time_point now) {
  // Sweep at most once per window so the table cannot grow without bound.
  if (now - last_sweep_ < window_) return;
  last_sweep_ = now;
  std::erase_if(records_, [&](const auto& kv) { return now - kv.second.window_start >= window_; });
}

bool AuthThrottle::blocked(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  expire(now);
  auto it = records_.find(ip);
  if (it == records_.end()) return false;
  if (now - it->second.window_start >= window_) {
    records_.erase(it);
    return false;
  }
  return it->second.failures >= max_failures_;
}

void AuthThrottle::failed(const std::string& ip, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Record& r = records_[ip];
  if (r.failures == 0 || now - r.window_start >= window_) {
    r.failures = 0;
    r.window_start = now;
  }
  ++r.failures;
}

void AuthThrottle::succeeded(const std::string& ip) {
  std::lock_guard lock(mutex_);
  records_.erase(ip);
}

}  // namespace xmppd::auth

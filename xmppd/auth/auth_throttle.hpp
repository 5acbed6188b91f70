// Failed-authentication throttling per IP address: after `max_failures` failures within
// `window`, further attempts from that address are refused until the window passes.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace xmppd::auth {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  AuthThrottle(unsigned max_failures, std::chrono::seconds window)
      : max_failures_(max_failures), window_(window) {}

  bool blocked(const std::string& ip, Clock::time_point now = Clock::now());
  void failed(const std::string& ip, Clock::time_point now = Clock::now());
  void succeeded(const std::string& ip);

 private:
  struct Record {
    unsigned failures = 0;
    Clock::time_point window_start;
  };
  void expire(Clock::time_point now);

  unsigned max_failures_;
  std::chrono::seconds window_;
  std::mutex mutex_;  // authentication attempts only, never the stanza path
  std::unordered_map<std::string, Record> records_;
  Clock::time_point last_sweep_;
};

}  // namespace xmppd::auth

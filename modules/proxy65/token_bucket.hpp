// A token bucket for a byte rate: a second's worth of bytes may pass at once, then the rate.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace proxy65 {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // bytes_per_second 0: no limit.
  explicit TokenBucket(std::uint64_t bytes_per_second)
      : rate_(static_cast<double>(bytes_per_second)), tokens_(rate_), last_(Clock::now()) {}

  // Takes `bytes`; returns how long to wait before passing them on to stay within the rate.
  Clock::duration take(std::uint64_t bytes) {
    if (rate_ == 0) return Clock::duration::zero();
    auto now = Clock::now();
    tokens_ = std::min(rate_, tokens_ + rate_ * std::chrono::duration<double>(now - last_).count());
    last_ = now;
    tokens_ -= static_cast<double>(bytes);
    if (tokens_ >= 0) return Clock::duration::zero();
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(-tokens_ / rate_));
  }

 private:
  double rate_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace proxy65

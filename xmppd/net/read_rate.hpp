// A token bucket for one connection's reads: a client may send `rate` bytes a second on
// average, in bursts of up to `burst`. Past that the connection is read more slowly (the
// client's TCP window fills and it must wait) rather than dropped.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace xmppd::net {

class ReadRate {
 public:
  using clock = std::chrono::steady_clock;

  // rate 0: unlimited.
  ReadRate(std::size_t rate, std::size_t burst) : rate_(double(rate)), burst_(double(burst)), tokens_(double(burst)) {}

  // Takes `bytes` just read; returns how long to wait before reading again (zero if the
  // bucket still has tokens).
  clock::duration consume(std::size_t bytes, clock::time_point now) {
    if (rate_ == 0) return clock::duration::zero();
    std::chrono::duration<double> elapsed = now - last_;
    last_ = now;
    tokens_ = std::min(burst_, tokens_ + elapsed.count() * rate_) - double(bytes);
    if (tokens_ >= 0) return clock::duration::zero();
    return std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(-tokens_ / rate_));
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_ = clock::now();
};

}  // namespace xmppd::net

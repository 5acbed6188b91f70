// XEP-0198 counters and the queue of stanzas the client has not acknowledged yet. Pure
// bookkeeping: the session decides when to write, resend or reroute.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xmppd::stream {

class StreamManagement {
 public:
  using clock = std::chrono::steady_clock;

  StreamManagement() = default;
  // Both counters starting at `count` instead of 0: how tests reach the 2^32 wrap.
  explicit StreamManagement(std::uint32_t count) : handled_(count), acked_(count), requested_at_(count) {}

  // Stanzas from the client, handled (XEP-0198 'h' of our <a/>), wrapping at 2^32.
  std::uint32_t handled() const { return handled_; }
  void count_handled() { ++handled_; }

  // A stanza was written (or queued while the socket is gone): kept until acknowledged.
  void sent(std::string_view stanza);
  std::uint32_t sent_count() const { return acked_ + std::uint32_t(unacked_count()); }
  std::size_t unacked_count() const { return ends_.size() - first_; }
  // The i-th unacknowledged stanza, serialized, oldest first (what a resumption resends).
  std::string_view unacked(std::size_t i) const {
    std::size_t from = i == 0 ? start() : ends_[first_ + i - 1];
    return std::string_view(bytes_).substr(from, ends_[first_ + i] - from);
  }
  // The unacknowledged stanzas one by one, leaving the queue empty (to route them again).
  std::vector<std::string> take_unacked();
  // When the oldest unacknowledged stanza was sent (nullopt if none).
  std::optional<clock::time_point> oldest_unacked() const {
    return unacked_count() == 0 ? std::nullopt : std::optional(oldest_);
  }

  // The client's 'h': drops what it acknowledges. False if it acknowledges more than was
  // sent (the stream then ends with undefined-condition, XEP-0198 §4).
  bool acknowledge(std::uint32_t h);
  // How many stanzas went out since the last <r/> we sent.
  std::uint32_t unrequested() const { return sent_count() - requested_at_; }
  void requested() { requested_at_ = sent_count(); }

  // Parses an 'h' attribute: a decimal unsigned 32-bit number.
  static std::optional<std::uint32_t> parse_h(std::string_view text);

 private:
  std::size_t start() const { return first_ == 0 ? 0 : ends_[first_ - 1]; }

  std::uint32_t handled_ = 0;
  std::uint32_t acked_ = 0;         // the client's last 'h'
  std::uint32_t requested_at_ = 0;  // sent_count() at our last <r/>
  // The queue in one buffer (no allocation per stanza): stanza i ends at ends_[i]; the
  // acknowledged ones before first_ are dropped in bulk once they are half the buffer.
  std::string bytes_;
  std::vector<std::size_t> ends_;
  std::size_t first_ = 0;
  clock::time_point oldest_{};
};

}  // namespace xmppd::stream

// XEP-0198 counters and the queue of stanzas the client has not acknowledged yet. Pure
// bookkeeping: the session decides when to write, resend or reroute.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

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
  void sent(std::string stanza, clock::time_point now);
  std::uint32_t sent_count() const { return acked_ + std::uint32_t(unacked_.size()); }
  const std::deque<std::string>& unacked() const { return unacked_; }
  std::deque<std::string> take_unacked();
  // When the oldest unacknowledged stanza was sent (nullopt if none).
  std::optional<clock::time_point> oldest_unacked() const {
    return unacked_.empty() ? std::nullopt : std::optional(oldest_);
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
  std::uint32_t handled_ = 0;
  std::uint32_t acked_ = 0;         // the client's last 'h'
  std::uint32_t requested_at_ = 0;  // sent_count() at our last <r/>
  std::deque<std::string> unacked_;
  clock::time_point oldest_{};
};

}  // namespace xmppd::stream

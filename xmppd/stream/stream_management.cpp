#include "stream/stream_management.hpp"

#include <charconv>
#include <utility>

namespace xmppd::stream {

void StreamManagement::sent(std::string stanza, clock::time_point now) {
  if (unacked_.empty()) oldest_ = now;
  unacked_.push_back(std::move(stanza));
}

std::deque<std::string> StreamManagement::take_unacked() {
  acked_ += std::uint32_t(unacked_.size());
  return std::exchange(unacked_, {});
}

bool StreamManagement::acknowledge(std::uint32_t h) {
  // Counters wrap at 2^32 (XEP-0198 §4): the difference is taken modulo that too.
  std::uint32_t newly = h - acked_;
  if (newly > unacked_.size()) return false;
  unacked_.erase(unacked_.begin(), unacked_.begin() + newly);
  acked_ = h;
  // The rest was sent later than what was acknowledged: "now" is a fair bound for its age.
  if (newly && !unacked_.empty()) oldest_ = clock::now();
  return true;
}

std::optional<std::uint32_t> StreamManagement::parse_h(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace xmppd::stream

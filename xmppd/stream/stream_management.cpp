#include "stream/stream_management.hpp"

#include <charconv>

namespace xmppd::stream {

void StreamManagement::sent(std::string_view stanza) {
  if (unacked_count() == 0) oldest_ = clock::now();
  bytes_.append(stanza);
  ends_.push_back(bytes_.size());
}

std::vector<std::string> StreamManagement::take_unacked() {
  std::vector<std::string> out;
  out.reserve(unacked_count());
  for (std::size_t i = first_, from = start(); i < ends_.size(); from = ends_[i++])
    out.emplace_back(bytes_, from, ends_[i] - from);
  acked_ += std::uint32_t(unacked_count());
  bytes_.clear();
  ends_.clear();
  first_ = 0;
  return out;
}

bool StreamManagement::acknowledge(std::uint32_t h) {
  // Counters wrap at 2^32 (XEP-0198 §4): the difference is taken modulo that too.
  std::uint32_t newly = h - acked_;
  if (newly > unacked_count()) return false;
  first_ += newly;
  acked_ = h;
  if (first_ == ends_.size()) {
    bytes_.clear();
    ends_.clear();
    first_ = 0;
  } else if (newly) {
    oldest_ = clock::now();  // the rest was sent later than what was acknowledged: a fair bound
    if (start() > bytes_.size() / 2) {  // compact: each byte moves at most once per halving
      std::size_t drop = start();
      bytes_.erase(0, drop);
      ends_.erase(ends_.begin(), ends_.begin() + std::ptrdiff_t(first_));
      for (auto& end : ends_) end -= drop;
      first_ = 0;
    }
  }
  return true;
}

std::optional<std::uint32_t> StreamManagement::parse_h(std::string_view text) {
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace xmppd::stream

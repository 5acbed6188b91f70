#include "history.hpp"

#include <charconv>
#include <string>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

namespace muc {
namespace {

template <class T>
std::optional<T> number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::size_t> count_attr(const xmppd::Element& e, std::string_view name) {
  const std::string* text = e.attr(name);
  if (!text) return std::nullopt;
  return number<std::size_t>(*text);
}

}  // namespace

HistoryRequest HistoryRequest::parse(const xmppd::Element* history) {
  HistoryRequest request;
  if (!history) return request;
  request.maxchars = count_attr(*history, "maxchars");
  request.maxstanzas = count_attr(*history, "maxstanzas");
  if (auto s = count_attr(*history, "seconds")) request.seconds = std::chrono::seconds(*s);
  if (const std::string* since = history->attr("since")) request.since = xmppd::stanza::parse_datetime(*since);
  return request;
}

void History::add(xmppd::Element message, Clock::time_point when) {
  if (max_stanzas_ == 0) return;
  if (entries_.size() == max_stanzas_) entries_.pop_front();
  entries_.push_back(Entry{std::move(message), when});
}

std::vector<const History::Entry*> History::select(const HistoryRequest& request, Clock::time_point now) const {
  std::vector<const Entry*> picked;
  std::size_t chars = 0;
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (request.maxstanzas && picked.size() >= *request.maxstanzas) break;
    if (request.seconds && it->when < now - *request.seconds) break;
    if (request.since && it->when < *request.since) break;
    if (request.maxchars) {
      chars += it->message.str(xmppd::ns::kClient).size();
      if (chars > *request.maxchars) break;
    }
    picked.push_back(&*it);
  }
  return {picked.rbegin(), picked.rend()};
}

}  // namespace muc

#include "history.hpp"

#include <charconv>
#include <ctime>
#include <string>

#include <xmppd/namespaces.hpp>

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
  if (const std::string* since = history->attr("since")) request.since = parse_datetime(*since);
  return request;
}

std::optional<Clock::time_point> parse_datetime(std::string_view text) {
  // CCYY-MM-DDThh:mm:ss[.sss](Z|(+|-)hh:mm)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  auto year = number<int>(text.substr(0, 4)), month = number<int>(text.substr(5, 2)),
       day = number<int>(text.substr(8, 2)), hour = number<int>(text.substr(11, 2)),
       minute = number<int>(text.substr(14, 2)), second = number<int>(text.substr(17, 2));
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  std::string_view rest = text.substr(19);
  if (!rest.empty() && rest[0] == '.') {
    std::size_t digits = 1;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    rest.remove_prefix(digits);  // fractions of a second do not matter here
  }
  int offset_minutes = 0;
  if (rest == "Z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    auto oh = number<int>(rest.substr(1, 2)), om = number<int>(rest.substr(4, 2));
    if (!oh || !om) return std::nullopt;
    offset_minutes = (rest[0] == '+' ? 1 : -1) * (*oh * 60 + *om);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  std::time_t t = timegm(&tm);
  if (t == -1) return std::nullopt;
  return Clock::from_time_t(t) - std::chrono::minutes(offset_minutes);
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

#include <xmppd/stanza.hpp>

#include <xmppd/namespaces.hpp>

#include <array>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <string>
#include <utility>

namespace xmppd::stanza {
namespace {

// RFC 6120 §8.3.3: each condition with the error type it usually carries.
constexpr std::array<std::pair<std::string_view, std::string_view>, 22> kConditionTypes{{
    {"bad-request", "modify"},
    {"conflict", "cancel"},
    {"feature-not-implemented", "cancel"},
    {"forbidden", "auth"},
    {"gone", "cancel"},
    {"internal-server-error", "cancel"},
    {"item-not-found", "cancel"},
    {"jid-malformed", "modify"},
    {"not-acceptable", "modify"},
    {"not-allowed", "cancel"},
    {"not-authorized", "auth"},
    {"policy-violation", "modify"},
    {"recipient-unavailable", "wait"},
    {"redirect", "modify"},
    {"registration-required", "auth"},
    {"remote-server-not-found", "cancel"},
    {"remote-server-timeout", "wait"},
    {"resource-constraint", "wait"},
    {"service-unavailable", "cancel"},
    {"subscription-required", "auth"},
    {"undefined-condition", "cancel"},
    {"unexpected-request", "wait"},
}};

std::string_view type_of(std::string_view condition) {
  for (const auto& [c, t] : kConditionTypes)
    if (c == condition) return t;
  return "cancel";
}

Element swapped(const Element& stanza, std::string_view type) {
  Element reply(stanza.name(), stanza.ns());
  if (auto id = stanza.attr("id")) reply.set_attr("id", *id);
  if (auto from = stanza.attr("from")) reply.set_attr("to", *from);
  if (auto to = stanza.attr("to")) reply.set_attr("from", *to);
  reply.set_attr("type", std::string(type));
  return reply;
}

}  // namespace

Element iq_result(const Element& iq) { return swapped(iq, "result"); }

Element error(const Element& stanza, std::string_view condition, std::string_view text) {
  Element reply = swapped(stanza, "error");
  for (const Element& n : stanza.nodes())
    if (!n.is_text() && n.name() != "error") reply.add_child(n);
  Element& err = reply.add_child("error", stanza.ns());
  err.set_attr("type", std::string(type_of(condition)));
  err.add_child(std::string(condition), ns::kStanzaErrors);
  if (!text.empty()) err.add_child("text", ns::kStanzaErrors).add_text(std::string(text));
  return reply;
}

std::string datetime(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {
std::optional<int> digits(std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}
}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_datetime(std::string_view text) {
  // CCYY-MM-DDThh:mm:ss[.sss](Z|(+|-)hh:mm)
  if (text.size() < 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':')
    return std::nullopt;
  auto year = digits(text.substr(0, 4)), month = digits(text.substr(5, 2)), day = digits(text.substr(8, 2)),
       hour = digits(text.substr(11, 2)), minute = digits(text.substr(14, 2)), second = digits(text.substr(17, 2));
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  std::string_view rest = text.substr(19);
  std::chrono::microseconds fraction{0};
  if (!rest.empty() && rest[0] == '.') {
    std::size_t n = 1;
    std::int64_t scale = 100000;
    for (; n < rest.size() && rest[n] >= '0' && rest[n] <= '9'; ++n, scale /= 10)
      fraction += std::chrono::microseconds((rest[n] - '0') * scale);
    if (n == 1) return std::nullopt;
    rest.remove_prefix(n);
  }
  int offset_minutes = 0;
  if (rest == "Z") {
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    auto oh = digits(rest.substr(1, 2)), om = digits(rest.substr(4, 2));
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
  return std::chrono::system_clock::from_time_t(t) - std::chrono::minutes(offset_minutes) + fraction;
}

bool may_reply_with_error(const Element& stanza) { return stanza.attr_or("type") != "error"; }

}  // namespace xmppd::stanza

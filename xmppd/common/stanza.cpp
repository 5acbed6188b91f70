#include <xmppd/stanza.hpp>

#include <xmppd/namespaces.hpp>

#include <array>
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

bool may_reply_with_error(const Element& stanza) { return stanza.attr_or("type") != "error"; }

}  // namespace xmppd::stanza

#include "archive_policy.hpp"

#include <charconv>
#include <chrono>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

namespace archive {
namespace {

using xmppd::Element;

constexpr const char* kHints = "urn:xmpp:hints";
constexpr const char* kCarbons = "urn:xmpp:carbons:2";

// Payloads that alone make no conversation: typing notifications, receipts, markers,
// hints, threads.
bool is_signal(const Element& n) {
  const std::string& ns = n.ns();
  return ns == "http://jabber.org/protocol/chatstates" || ns == "urn:xmpp:receipts" ||
         ns == "urn:xmpp:chat-markers:0" || ns == kHints || ns == kStanzaIds ||
         n.is("thread", xmppd::ns::kClient) || n.is("x", "http://jabber.org/protocol/muc#user");
}

}  // namespace

bool archivable(const Element& message, bool groupchat) {
  if (message.name() != "message") return false;
  std::string_view type = message.attr_or("type", "normal");
  if (groupchat ? type != "groupchat" : (type != "chat" && type != "normal")) return false;
  if (message.child("no-store", kHints) || message.child("no-permanent-store", kHints)) return false;
  if (message.child("sent", kCarbons) || message.child("received", kCarbons)) return false;
  if (message.child("result", kMam)) return false;  // someone's archive, forwarded
  if (message.child("store", kHints)) return true;
  for (const Element& n : message.nodes()) {
    if (n.is_text() || is_signal(n)) continue;
    // A room's subject change is state, not history.
    if (groupchat && n.is("subject", xmppd::ns::kClient) && !message.child("body", xmppd::ns::kClient)) return false;
    return true;
  }
  return false;
}

std::string message_id(const Element& message) {
  if (const Element* origin = message.child("origin-id", kStanzaIds))
    if (const std::string* id = origin->attr("id"); id && !id->empty()) return *id;
  return std::string(message.attr_or("id"));
}

void strip_stanza_ids(Element& message, std::string_view by) {
  std::erase_if(message.nodes(), [by](const Element& n) {
    return n.is("stanza-id", kStanzaIds) && (by.empty() || n.attr_or("by") == by);
  });
}

void add_stanza_id(Element& message, const std::string& by, const std::string& id) {
  Element& sid = message.add_child("stanza-id", kStanzaIds);
  sid.set_attr("by", by);
  sid.set_attr("id", id);
}

const Element* stanza_id(const Element& message, std::string_view by) {
  for (const Element& n : message.nodes())
    if (n.is("stanza-id", kStanzaIds) && n.attr_or("by") == by) return &n;
  return nullptr;
}

std::string searchable_text(const Element& message) { return message.child_text("body", xmppd::ns::kClient); }

Element tombstone(const Element& original, std::int64_t retracted_at_us, const Element* detail) {
  Element kept(original.name(), original.ns());
  for (const auto& [name, value] : original.attrs()) kept.set_attr(name, value);
  for (const Element& n : original.nodes())
    if (n.is("origin-id", kStanzaIds) || n.is("stanza-id", kStanzaIds)) kept.add_child(n);
  Element& retracted = kept.add_child("retracted", kRetract);
  auto when = std::chrono::system_clock::time_point(std::chrono::microseconds(retracted_at_us));
  retracted.set_attr("stamp", xmppd::stanza::datetime(std::chrono::time_point_cast<std::chrono::system_clock::duration>(when)));
  if (detail)
    for (const Element& n : detail->nodes())
      if (!n.is_text()) retracted.add_child(n);
  return kept;
}

std::string id_text(std::int64_t id) { return std::to_string(id); }

std::int64_t parse_id(std::string_view text) {
  std::int64_t id = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 0) return -1;
  return id;
}

}  // namespace archive

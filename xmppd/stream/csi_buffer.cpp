#include "stream/csi_buffer.hpp"

#include <algorithm>
#include <string_view>

#include <xmppd/namespaces.hpp>

namespace xmppd::stream {
namespace {

// Payloads that tell a client something without anything for its user to read now.
bool is_background(const Element& child) {
  static constexpr std::string_view kBackground[] = {
      "http://jabber.org/protocol/chatstates", "urn:xmpp:receipts", "urn:xmpp:chat-markers:0",
      "urn:xmpp:hints", "urn:xmpp:sid:0", "urn:xmpp:delay"};
  if (child.is("thread", ns::kClient)) return true;
  return std::find(std::begin(kBackground), std::end(kBackground), child.ns()) != std::end(kBackground);
}

}  // namespace

bool CsiBuffer::can_wait(const Element& stanza) {
  if (stanza.name() == "presence") {
    // Subscription requests and answers need the user; availability changes do not.
    std::string_view type = stanza.attr_or("type");
    return type.empty() || type == "unavailable";
  }
  if (stanza.name() != "message" || stanza.attr_or("type") == "error") return false;
  for (const Element& n : stanza.nodes())
    if (!n.is_text() && !is_background(n)) return false;
  return true;
}

void CsiBuffer::hold(std::string bytes, const Element& stanza) {
  std::string from = stanza.name() == "presence" ? std::string(stanza.attr_or("from", "-")) : std::string();
  if (!from.empty())
    std::erase_if(held_, [&](const Held& h) { return h.presence_from == from; });
  held_.push_back({std::move(from), std::move(bytes)});
}

std::vector<std::string> CsiBuffer::take() {
  std::vector<std::string> out;
  out.reserve(held_.size());
  for (Held& h : held_) out.push_back(std::move(h.bytes));
  held_.clear();
  return out;
}

}  // namespace xmppd::stream

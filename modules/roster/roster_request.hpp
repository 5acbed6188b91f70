// A client's roster set (RFC 6121 §2.1.5), checked against §2.3.3 before anything changes.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

namespace xmppd::roster {

struct RosterSet {
  Jid contact;  // bare
  bool remove = false;
  std::string name;
  std::vector<std::string> groups;
};

// Why a roster set is refused: an RFC 6120 stanza error condition and a text for humans.
struct Rejection {
  std::string_view condition;
  std::string_view text;
};

// The set's single item, or why it is refused. `user` is the sender's bare JID.
std::variant<RosterSet, Rejection> parse_roster_set(const Element& query, const Jid& user);

}  // namespace xmppd::roster

// Occupant nicknames as RFC 8266 (the PRECIS nickname profile) has them, on top of what the
// occupant JID's resourcepart already went through: spaces at either end are dropped and a
// run of spaces is one, so "Alice" and " Alice  " are the same occupant (XEP-0045 §7.2.3
// tells a client whose nick was changed so, with status 210). Nicknames are compared case
// folded and NFKC-normalized (RFC 8266 §2.4), so "Alice" and "alice" are one occupant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace muc {

// The nickname, or nullopt for one that is nothing but spaces.
inline std::optional<std::string> nickname(std::string_view resource) {
  std::string out;
  for (char c : resource) {
    if (c != ' ') out += c;
    else if (!out.empty() && out.back() != ' ') out += ' ';
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  if (out.empty()) return std::nullopt;
  return out;
}

// The form two nicknames are compared in: equal keys, same nickname.
std::string nickname_key(std::string_view nick);

}  // namespace muc

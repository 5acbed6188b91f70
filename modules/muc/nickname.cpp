#include "nickname.hpp"

#include <stringprep.h>

#include <algorithm>
#include <vector>

namespace muc {
namespace {

std::size_t entries(const Stringprep_table_element* table) {
  std::size_t n = 0;
  while (table[n].start || table[n].end) ++n;
  return n;
}

// RFC 3454 table B.2 (case folding for NFKC) then NFKC: RFC 8266's case mapping and
// normalization rules, as far as stringprep's tables reach.
const Stringprep_profile* folding() {
  static const Stringprep_profile profile[] = {
      {STRINGPREP_MAP_TABLE, Stringprep_profile_flags(0), stringprep_rfc3454_B_2, entries(stringprep_rfc3454_B_2)},
      {STRINGPREP_NFKC, Stringprep_profile_flags(0), nullptr, 0},
      {Stringprep_profile_steps(0), Stringprep_profile_flags(0), nullptr, 0}};
  return profile;
}

}  // namespace

std::string nickname_key(std::string_view nick) {
  if (std::all_of(nick.begin(), nick.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    std::string key(nick);  // the usual case, without libidn
    for (char& c : key)
      if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return key;
  }
  // A code point maps to at most 4 (STRINGPREP_MAX_MAP_CHARS) of at most 4 bytes each.
  std::vector<char> buffer(nick.size() * 16 + 1, '\0');
  std::copy(nick.begin(), nick.end(), buffer.begin());
  if (stringprep(buffer.data(), buffer.size(), Stringprep_profile_flags(0), folding()) != STRINGPREP_OK)
    return std::string(nick);  // a resourcepart already prepared: not expected to fail
  return std::string(buffer.data());
}

}  // namespace muc

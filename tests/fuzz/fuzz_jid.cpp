// JID parsing (RFC 7622 with stringprep): never crashes, and a parsed JID is a fixed point:
// parsing its own string form gives the same JID back.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <xmppd/jid.hpp>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto jid = xmppd::Jid::parse(text);
  if (!jid) return 0;
  auto again = xmppd::Jid::parse(jid->str());
  if (!again || !(*again == *jid) || again->str() != jid->str()) std::abort();
  if (!(xmppd::Jid::parse(jid->bare_str()) == std::optional(jid->bare()))) std::abort();
  return 0;
}

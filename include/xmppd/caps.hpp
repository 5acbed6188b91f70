// XEP-0115 entity capabilities: the 'ver' of a disco#info answer.
#pragma once

#include <string>

#include <xmppd/element.hpp>

namespace xmppd::caps {

inline constexpr const char* kCaps = "http://jabber.org/protocol/caps";

// The §5.1 verification string of a disco#info <query/> (identities, features, extended
// forms), hashed with SHA-1 and base64-encoded: what a <c hash='sha-1' ver=…/> must say.
std::string ver(const Element& disco_info_query);

}  // namespace xmppd::caps

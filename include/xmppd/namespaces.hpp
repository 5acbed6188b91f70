// XML namespaces used across the server, in one place.
#pragma once

namespace xmppd::ns {

inline constexpr const char* kStream = "http://etherx.jabber.org/streams";
inline constexpr const char* kClient = "jabber:client";
inline constexpr const char* kServer = "jabber:server";
inline constexpr const char* kStreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr const char* kStanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr const char* kTls = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr const char* kSasl = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr const char* kBind = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr const char* kSession = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr const char* kSm = "urn:xmpp:sm:3";    // XEP-0198 stream management
inline constexpr const char* kCsi = "urn:xmpp:csi:0";  // XEP-0352 client state indication
inline constexpr const char* kXml = "http://www.w3.org/XML/1998/namespace";

}  // namespace xmppd::ns

// What goes into a message archive and how archived messages look: the rules shared by
// the account archive (modules/mam) and the room archive (modules/muc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <xmppd/element.hpp>

namespace archive {

inline constexpr const char* kMam = "urn:xmpp:mam:2";
inline constexpr const char* kMamExtended = "urn:xmpp:mam:2#extended";
inline constexpr const char* kStanzaIds = "urn:xmpp:sid:0";
inline constexpr const char* kRetract = "urn:xmpp:message-retract:1";
inline constexpr const char* kModerate = "urn:xmpp:message-moderate:1";
inline constexpr const char* kFulltext = "urn:xmpp:fulltext:0";
inline constexpr const char* kForward = "urn:xmpp:forward:0";
inline constexpr const char* kDelay = "urn:xmpp:delay";
inline constexpr const char* kRsm = "http://jabber.org/protocol/rsm";
inline constexpr const char* kDataForms = "jabber:x:data";

// XEP-0313 §5.1.1 with the XEP-0334 hints: chat and normal messages with content (a body,
// an encrypted, retraction or correction payload...), not errors, headlines, carbons,
// or messages that carry nothing but a chat state or receipt. For rooms: groupchat alike.
bool archivable(const xmppd::Element& message, bool groupchat);

// What a retraction names the message by (XEP-0424 §4): its origin-id, else its 'id'.
std::string message_id(const xmppd::Element& message);

// XEP-0359: stanza-ids are the server's to give. Removes those `by` names (all of them for
// an empty `by`), and adds ours.
void strip_stanza_ids(xmppd::Element& message, std::string_view by = {});
void add_stanza_id(xmppd::Element& message, const std::string& by, const std::string& id);
// The stanza-id `by` gave the message, if any.
const xmppd::Element* stanza_id(const xmppd::Element& message, std::string_view by);

// The text full-text search sees: the body.
std::string searchable_text(const xmppd::Element& message);

// XEP-0424 §5.2: what an archive keeps of a retracted message: the envelope, the ids and a
// <retracted/> marker (`detail`, e.g. XEP-0425 <moderated/> and <reason/>, goes inside it);
// no content.
xmppd::Element tombstone(const xmppd::Element& original, std::int64_t retracted_at_us,
                         const xmppd::Element* detail);

// Archive ids are microseconds since the epoch, strictly increasing: the stanza-id, the
// order and the timestamp in one number.
std::string id_text(std::int64_t id);
std::int64_t parse_id(std::string_view text);  // -1 if not an archive id

}  // namespace archive

// Building stanza replies and errors (RFC 6120 §8.3).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <xmppd/element.hpp>

namespace xmppd::stanza {

// An <iq type='result'/> answering `iq` (to/from swapped, same id), with no payload.
Element iq_result(const Element& iq);

// An error reply to `stanza` with the RFC 6120 §8.3.3 condition (e.g. "service-unavailable"),
// its usual error type, and optional human-readable text. The original payload is kept.
Element error(const Element& stanza, std::string_view condition, std::string_view text = {});

// Whether an error may be sent in reply (never reply to an error with an error).
bool may_reply_with_error(const Element& stanza);

// XEP-0082 DateTime in UTC, e.g. "2026-11-22T07:28:19Z" (delay stamps, entity time).
std::string datetime(std::chrono::system_clock::time_point when = std::chrono::system_clock::now());

// Reads a XEP-0082 DateTime ("2026-12-01T21:00:00Z", with fractions of a second down to
// microseconds and a zone offset allowed); nullopt if it is not one.
std::optional<std::chrono::system_clock::time_point> parse_datetime(std::string_view text);

}  // namespace xmppd::stanza

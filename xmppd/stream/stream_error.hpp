// How a client stream ends with a stream error (RFC 6120 §4.9).
#pragma once

#include <string>
#include <string_view>

namespace xmppd::stream {

// <stream:error> with `condition` (and `text`, if any). `application` is an
// application-specific condition element, serialized (§4.9.4). `stream_prefix`: the
// declaration of the stream: prefix the element needs where it stands alone.
std::string stream_error_element(std::string_view condition, std::string_view text, std::string_view application = {},
                                 std::string_view stream_prefix = {});

// The whole answer to a TCP client refused before its stream began: our stream header, the
// error, and the end of the stream (§4.9.1.2: the error needs a stream to live in).
std::string stream_refusal_bytes(std::string_view condition, std::string_view text);

}  // namespace xmppd::stream

// The bytes that end a client stream with a stream error (RFC 6120 §4.9).
#pragma once

#include <string>
#include <string_view>

namespace xmppd::stream {

// <stream:error> with `condition` (and `text`, if any), then </stream:stream>; preceded by
// our stream header when `open_stream_first` (§4.9.1.2: the error needs a stream to live in).
// `application` is an application-specific condition element, serialized (§4.9.4).
std::string stream_error_bytes(std::string_view condition, std::string_view text, bool open_stream_first,
                               std::string_view application = {});

}  // namespace xmppd::stream

// The URLs of uploaded files: <base>/<id>/<percent-encoded filename>, the PUT one with its
// grant in the query string. Decoding refuses anything that could name another path.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace http_upload {

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view text);
// nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

// Whether a client's filename can be part of a URL path and a log line: one segment, not
// "." or "..", no control characters, at most 255 bytes.
bool valid_filename(std::string_view name);
// Slot ids are 32 lowercase hex digits (128 random bits).
bool valid_slot_id(std::string_view id);

struct UploadTarget {
  std::string id;
  std::string filename;
  std::map<std::string, std::string, std::less<>> query;
};

// Parses a request target "<prefix>/<id>/<filename>[?query]"; nullopt when it is not one
// (other prefix, more or fewer segments, bad escapes, "..", an invalid id or name).
std::optional<UploadTarget> parse_target(std::string_view target, std::string_view prefix);

// The path part of a URL ("https://host:5281/upload/" → "/upload"), without a trailing '/'.
std::string url_path(std::string_view url);

}  // namespace http_upload

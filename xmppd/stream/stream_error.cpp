#include "stream/stream_error.hpp"

#include <xmppd/namespaces.hpp>

#include "xml/serializer.hpp"

namespace xmppd::stream {

std::string stream_error_bytes(std::string_view condition, std::string_view text, bool open_stream_first,
                               std::string_view application) {
  std::string out;
  if (open_stream_first)
    out = "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
          "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
  out.append("<stream:error><").append(condition).append(" xmlns='").append(ns::kStreamErrors).append("'/>");
  if (!text.empty()) {
    out.append("<text xmlns='").append(ns::kStreamErrors).append("'>");
    xml::escape_text(text, out);
    out += "</text>";
  }
  out.append(application);
  out += "</stream:error></stream:stream>";
  return out;
}

}  // namespace xmppd::stream

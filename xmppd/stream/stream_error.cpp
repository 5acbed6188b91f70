#include "stream/stream_error.hpp"

#include <xmppd/namespaces.hpp>

#include "xml/serializer.hpp"

namespace xmppd::stream {

std::string stream_error_element(std::string_view condition, std::string_view text, std::string_view application,
                                 std::string_view stream_prefix) {
  std::string out = "<stream:error";
  out.append(stream_prefix).append("><").append(condition).append(" xmlns='").append(ns::kStreamErrors).append("'/>");
  if (!text.empty()) {
    out.append("<text xmlns='").append(ns::kStreamErrors).append("'>");
    xml::escape_text(text, out);
    out += "</text>";
  }
  out.append(application);
  out += "</stream:error>";
  return out;
}

std::string stream_refusal_bytes(std::string_view condition, std::string_view text) {
  return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
         "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" +
         stream_error_element(condition, text) + "</stream:stream>";
}

}  // namespace xmppd::stream

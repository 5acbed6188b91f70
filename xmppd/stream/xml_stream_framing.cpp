#include "stream/xml_stream_framing.hpp"

namespace xmppd::stream {

Framing::Fed XmlStreamFraming::feed(std::string_view bytes, std::vector<xml::Event>& events, std::string&) {
  return parser_.feed(bytes, events) ? Fed::ok : Fed::stream_error;
}

void XmlStreamFraming::open_stream(std::string& out, std::string_view id, std::string_view from) {
  out += "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'";
  append_stream_attributes(out, id, from);
  out += '>';
}

}  // namespace xmppd::stream

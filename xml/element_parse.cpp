// Element::parse lives beside the stream parser it is built on.
#include <xmppd/element.hpp>
#include <xmppd/namespaces.hpp>

#include "xml/stream_parser.hpp"

namespace xmppd {

std::optional<Element> Element::parse(std::string_view xml, std::string_view default_ns) {
  // Wrapped in a stream so the namespace the serializer left implicit is restored.
  std::string document = "<stream:stream xmlns='";
  document.append(default_ns).append("' xmlns:stream='").append(ns::kStream).append("'>");
  document.append(xml);
  // What was stored passed the stream limits once; here they only have to let it through.
  xml::StreamParser parser({.max_stanza_bytes = document.size() + 1024, .max_depth = 1024, .max_attributes = 1024});
  std::vector<xml::Event> events;
  if (!parser.feed(document, events)) return std::nullopt;
  for (auto& event : events)
    if (auto* stanza = std::get_if<xml::Stanza>(&event)) return std::move(stanza->element);
  return std::nullopt;
}

}  // namespace xmppd

#include "stream/framing.hpp"

#include "xml/serializer.hpp"

namespace xmppd::stream {
namespace {

// Whether the start tag that begins at `tag` declares a default namespace. The bytes come from
// our serializer: attributes are name='value' with no ' inside a value.
bool declares_namespace(std::string_view tag) {
  std::size_t i = tag.find_first_of(" />");
  while (i != std::string_view::npos && i < tag.size() && tag[i] == ' ') {
    std::size_t eq = tag.find('=', i);
    if (eq == std::string_view::npos) return false;
    if (tag.substr(i + 1, eq - i - 1) == "xmlns") return true;
    std::size_t close = tag.find('\'', eq + 2);
    if (close == std::string_view::npos) return false;
    i = close + 1;
  }
  return false;
}

}  // namespace

void declare_client_namespace(std::string& out, std::size_t from) {
  std::string_view tag = std::string_view(out).substr(from);
  std::size_t name_end = tag.find_first_of(" />");
  // Prefixed roots (stream:features, stream:error) are in a namespace of their own.
  bool prefixed = tag.substr(0, name_end).find(':') != std::string_view::npos;
  if (name_end != std::string_view::npos && !prefixed && !declares_namespace(tag))
    out.insert(from + name_end, " xmlns='jabber:client'");
}

void open_hidden_stream(xml::StreamParser& parser) {
  std::vector<xml::Event> header;
  parser.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", header);
}

void append_stream_attributes(std::string& out, std::string_view id, std::string_view from) {
  if (!id.empty()) out.append(" id='").append(id).append("'");
  if (!from.empty()) {
    out += " from='";
    xml::escape_attr(from, out);
    out += '\'';
  }
  out += " version='1.0' xml:lang='en'";
}

}  // namespace xmppd::stream

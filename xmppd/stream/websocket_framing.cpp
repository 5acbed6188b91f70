#include "stream/websocket_framing.hpp"

#include <xmppd/namespaces.hpp>

#include "xml/serializer.hpp"

namespace xmppd::stream {
namespace {

namespace ws = net::websocket;
constexpr const char* kFraming = "urn:ietf:params:xml:ns:xmpp-framing";

}  // namespace

WebSocketFraming::WebSocketFraming(const xml::ParserLimits& limits)
    : frames_(limits.max_stanza_bytes), parser_(limits) {
  restart();
}

void WebSocketFraming::restart() {
  parser_.reset();
  open_hidden_stream(parser_);
}

Framing::Fed WebSocketFraming::feed(std::string_view bytes, std::vector<xml::Event>& events, std::string& out) {
  frames_.append(bytes);
  for (;;) {
    switch (frames_.next()) {
      case ws::FrameReader::Result::need_more: return Fed::ok;
      case ws::FrameReader::Result::message:
        if (!on_message(frames_.payload(), events)) return Fed::stream_error;
        continue;
      case ws::FrameReader::Result::ping: ws::append_frame(out, ws::Opcode::pong, frames_.payload()); continue;
      case ws::FrameReader::Result::pong: continue;
      case ws::FrameReader::Result::close:
        // RFC 6455 §5.5.1: the answer echoes the status code.
        ws::append_close(out, frames_.close_code());
        error_text_ = "the client closed the WebSocket";
        return Fed::closed;
      case ws::FrameReader::Result::error:
        error_text_ = frames_.error_text();
        ws::append_close(out, frames_.close_code(), error_text_);
        return Fed::closed;
    }
  }
}

bool WebSocketFraming::on_message(std::string_view text, std::vector<xml::Event>& events) {
  const std::size_t before = events.size();
  bool ok = parser_.feed(text, events);
  if (ok && (events.size() != before + 1 || !parser_.between_stanzas())) {
    condition_ = "not-well-formed";
    error_text_ = "a WebSocket message must hold exactly one whole element (RFC 7395 §3.3.3)";
    ok = false;
  } else if (!ok) {
    condition_ = xml::to_string(parser_.error());
    error_text_ = parser_.error_text();
  }
  if (!ok) {
    events.resize(before);  // nothing of a broken message is acted on
    return false;
  }
  auto* stanza = std::get_if<xml::Stanza>(&events.back());
  if (!stanza || stanza->element.ns() != kFraming) return true;
  const Element& framing = stanza->element;
  if (framing.name() == "close") {
    events.back() = xml::StreamClose{};
    return true;
  }
  if (framing.name() != "open") {
    condition_ = "unsupported-stanza-type";
    error_text_ = "unknown framing element " + framing.name();
    events.resize(before);
    return false;
  }
  // The session reads it as the header of a jabber:client stream.
  Element header("stream", ns::kStream);
  for (const auto& [name, value] : framing.attrs())
    if (name != "xmlns") header.set_attr(name, value);
  header.set_attr("xmlns", ns::kClient);
  events.back() = xml::StreamOpen{std::move(header)};
  return true;
}

void WebSocketFraming::open_stream(std::string& out, std::string_view id, std::string_view from) {
  const std::size_t start = out.size();
  out.append("<open xmlns='").append(kFraming).append("'");
  append_stream_attributes(out, id, from);
  out += "/>";
  ws::frame_in_place(out, start);
}

void WebSocketFraming::close_stream(std::string& out) {
  const std::size_t start = out.size();
  out.append("<close xmlns='").append(kFraming).append("'/>");
  ws::frame_in_place(out, start);
  ws::append_close(out, ws::normal);
}

void WebSocketFraming::element(std::string& out, std::size_t from) {
  declare_client_namespace(out, from);
  ws::frame_in_place(out, from);
}

bool WebSocketFraming::probe(std::string& out) {
  ws::append_frame(out, ws::Opcode::ping, {});
  return true;
}

std::string_view WebSocketFraming::stream_prefix() const { return " xmlns:stream='http://etherx.jabber.org/streams'"; }

}  // namespace xmppd::stream

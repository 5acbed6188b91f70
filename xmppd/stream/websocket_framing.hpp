// RFC 7395 framing: every WebSocket message holds one whole element, the stream opens with
// <open/> and ends with <close/> of urn:ietf:params:xml:ns:xmpp-framing, and each message
// stands alone (declares its namespaces).
#pragma once

#include "net/websocket.hpp"
#include "stream/framing.hpp"

namespace xmppd::stream {

class WebSocketFraming final : public Framing {
 public:
  explicit WebSocketFraming(const xml::ParserLimits& limits);

  Fed feed(std::string_view bytes, std::vector<xml::Event>& events, std::string& out) override;
  void restart() override;
  bool release_if_idle() override { return frames_.release_if_idle() && parser_.release_if_idle(); }
  const char* error_condition() const override { return condition_; }
  const std::string& error_text() const override { return error_text_; }

  void open_stream(std::string& out, std::string_view id, std::string_view from) override;
  void close_stream(std::string& out) override;
  void element(std::string& out, std::size_t from) override;
  std::string_view stream_prefix() const override;
  bool tls_upgradable() const override { return false; }
  bool probe(std::string& out) override;

 private:
  // One message: exactly one element, which becomes a stream event.
  bool on_message(std::string_view text, std::vector<xml::Event>& events);

  net::websocket::FrameReader frames_;
  // Messages are parsed as the stanzas of a stream whose header only this side sees: its
  // default namespace is jabber:client, which a client may leave out of its stanzas.
  xml::StreamParser parser_;
  const char* condition_ = "not-well-formed";
  std::string error_text_;
};

}  // namespace xmppd::stream

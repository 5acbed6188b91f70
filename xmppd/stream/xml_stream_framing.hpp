// RFC 6120 framing: the stream is one XML document over the connection's bytes. (BOSH
// reads the same way and writes differently: see bosh_framing.hpp.)
#pragma once

#include "stream/framing.hpp"

namespace xmppd::stream {

class XmlStreamFraming : public Framing {
 public:
  explicit XmlStreamFraming(const xml::ParserLimits& limits) : parser_(limits) {}

  Fed feed(std::string_view bytes, std::vector<xml::Event>& events, std::string& out) override;
  void restart() override { parser_.reset(); }
  bool release_if_idle() override { return parser_.release_if_idle(); }
  const char* error_condition() const override { return xml::to_string(parser_.error()); }
  const std::string& error_text() const override { return parser_.error_text(); }

  void open_stream(std::string& out, std::string_view id, std::string_view from) override;
  void close_stream(std::string& out) override { out += "</stream:stream>"; }
  void element(std::string&, std::size_t) override {}
  std::string_view stream_prefix() const override { return {}; }
  bool tls_upgradable() const override { return true; }

 private:
  xml::StreamParser parser_;
};

}  // namespace xmppd::stream

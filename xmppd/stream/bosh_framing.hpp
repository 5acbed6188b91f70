// XEP-0206 framing: the BOSH connection hands the session its requests' payloads as one XML
// stream (a stream header for the session's creation and each restart, then the stanzas),
// so input is read as on TCP; output is the stanzas alone, each standing on its own inside
// the <body/> of a response, which the BOSH connection writes around them.
#pragma once

#include "stream/xml_stream_framing.hpp"

namespace xmppd::stream {

class BoshFraming final : public XmlStreamFraming {
 public:
  using XmlStreamFraming::XmlStreamFraming;

  // The response to the request that opened the stream carries its attributes instead.
  void open_stream(std::string&, std::string_view, std::string_view) override {}
  // The end of the stream is a terminating <body/>, which closing the connection sends.
  void close_stream(std::string&) override {}
  void element(std::string& out, std::size_t from) override { declare_client_namespace(out, from); }
  // Every response's <body/> declares the stream: prefix.
  std::string_view stream_prefix() const override { return {}; }
  bool tls_upgradable() const override { return false; }
};

}  // namespace xmppd::stream

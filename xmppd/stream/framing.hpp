// How a client stream travels on its connection. The c2s session reads stream events and
// writes whole elements; the framing turns the connection's bytes into those events and
// each element into what the connection carries: XML over TCP (RFC 6120), or one element
// per WebSocket message (RFC 7395). SASL, bind, stream management, CSI and every module are
// the same on each.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "xml/stream_parser.hpp"

namespace xmppd::stream {

class Framing {
 public:
  enum class Fed {
    ok,
    stream_error,  // the XML is wrong: end the stream with error_condition()
    closed,        // the connection is over (its last words, if any, are in `out`)
  };

  virtual ~Framing() = default;

  // Input ------------------------------------------------------------------------------
  // Parses bytes the connection read and appends the events they complete. What the
  // framing answers by itself (a WebSocket pong or close) is appended to `out`.
  virtual Fed feed(std::string_view bytes, std::vector<xml::Event>& events, std::string& out) = 0;
  // A new stream begins on the connection (after STARTTLS or SASL).
  virtual void restart() = 0;
  // Between stanzas of a quiet connection: gives the parsing state back (see StreamParser).
  virtual bool release_if_idle() = 0;
  // After Fed::stream_error: the RFC 6120 condition and a detail for the log.
  virtual const char* error_condition() const = 0;
  virtual const std::string& error_text() const = 0;

  // Output: each call appends one whole unit to `out` ------------------------------------
  // The stream header (`id` may be empty: an error before the client opened a stream).
  virtual void open_stream(std::string& out, std::string_view id, std::string_view from) = 0;
  // The closing of the stream, after which the connection closes.
  virtual void close_stream(std::string& out) = 0;
  // The element just appended at out[from..] is made one unit of output.
  virtual void element(std::string& out, std::size_t from) = 0;
  // What an element with the stream: prefix must declare to stand alone ("" on TCP, where
  // the stream header declared it).
  virtual std::string_view stream_prefix() const = 0;
  // Whether STARTTLS can upgrade this connection (a WebSocket's TLS comes from HTTPS).
  virtual bool tls_upgradable() const = 0;
  // Appends a liveness probe of the framing's own (a WebSocket ping, whose pong is a read);
  // false if it has none (the session asks with an XMPP ping instead).
  virtual bool probe(std::string&) { return false; }
};

// For framings where each element stands alone (WebSocket messages, BOSH bodies): the
// element just appended at out[from..], serialized inside a jabber:client stream, declares
// that namespace itself if it inherited it.
void declare_client_namespace(std::string& out, std::size_t from);
// Makes `parser` read what follows as the stanzas of a jabber:client stream whose header the
// client never sent (framings that carry one element at a time: WebSocket, a BOSH body).
void open_hidden_stream(xml::StreamParser& parser);
// The id and from of a stream header, and its version and language.
void append_stream_attributes(std::string& out, std::string_view id, std::string_view from);

}  // namespace xmppd::stream

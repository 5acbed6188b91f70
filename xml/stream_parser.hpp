// Incremental XMPP stream parser on expat: bytes in, stream events out.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <xmppd/element.hpp>

namespace xmppd::xml {

struct ParserLimits {
  std::size_t max_stanza_bytes = 256 * 1024;  // bytes between two stanza boundaries
  std::size_t max_depth = 32;                 // element nesting inside a stanza
  std::size_t max_attributes = 64;            // attributes on one element
};

// The opening <stream:stream>: its attributes (to, from, version, id, "xml:lang") and,
// as "xmlns", the default namespace it declared (the stream's content namespace).
struct StreamOpen {
  Element header;
};
// A complete top-level child of the stream (a stanza, or <starttls/>, <auth/>, ...).
struct Stanza {
  Element element;
};
struct StreamClose {};
using Event = std::variant<StreamOpen, Stanza, StreamClose>;

// Why parsing stopped; each maps to the RFC 6120 stream error of the same name.
enum class ParseError {
  none,
  not_well_formed,    // invalid XML, invalid UTF-8, undeclared prefix, text before the stream
  restricted_xml,     // DTD, entity declaration, comment, processing instruction (§11.1)
  policy_violation,   // a ParserLimits bound was crossed
  invalid_namespace,  // the root is not {http://etherx.jabber.org/streams}stream
};
const char* to_string(ParseError);

class StreamParser {
 public:
  explicit StreamParser(ParserLimits limits = {});
  ~StreamParser();
  StreamParser(const StreamParser&) = delete;
  StreamParser& operator=(const StreamParser&) = delete;

  // Parses `data` (any split of the byte stream, even one byte at a time) and appends the
  // events it completes to `out`. Returns false once the stream is in error; error() says
  // why, and every later call returns false without parsing.
  bool feed(std::string_view data, std::vector<Event>& out);

  // Starts a new stream on the same connection (after STARTTLS or SASL success).
  void reset();
  // Between stanzas, gives the expat parser (~11 KB once it has read a stream) back to a
  // per-thread pool; the next feed() takes one and replays an equivalent stream header into
  // it. For connections that have gone quiet: a busy one would pay the replay on every read.
  // False (and nothing released) while a stanza or a token is half-read.
  bool release_if_idle();
  // Whether everything fed so far forms whole stanzas (nothing half-read, no error).
  bool between_stanzas() const;

  ParseError error() const;
  // Human-readable detail for logs (expat's message, the limit crossed, ...).
  const std::string& error_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace xmppd::xml

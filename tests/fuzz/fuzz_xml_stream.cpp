// The XML stream parser fed arbitrary bytes, split at arbitrary points (its parser released
// between pieces where it can be): it must never crash or leak, and the events it reports
// must not depend on how the bytes were split.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "xml/stream_parser.hpp"

namespace {

using namespace xmppd::xml;

// What a run produced, in a comparable form.
std::string transcript(const std::vector<Event>& events, bool ok, ParseError error) {
  std::string out;
  for (const Event& e : events) {
    if (auto* open = std::get_if<StreamOpen>(&e)) out += "open " + open->header.str() + "\n";
    else if (auto* stanza = std::get_if<Stanza>(&e)) out += "stanza " + stanza->element.str() + "\n";
    else out += "close\n";
  }
  return out + (ok ? "ok" : std::string("error ") + to_string(error));
}

ParserLimits small_limits() { return ParserLimits{.max_stanza_bytes = 4096, .max_depth = 8, .max_attributes = 8}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  std::size_t split = input.ConsumeIntegralInRange<std::size_t>(1, 64);
  std::string bytes = input.ConsumeRemainingBytesAsString();

  StreamParser whole(small_limits());
  std::vector<Event> whole_events;
  bool whole_ok = whole.feed(bytes, whole_events);

  StreamParser pieces(small_limits());
  std::vector<Event> piece_events;
  bool pieces_ok = true;
  for (std::size_t at = 0; at < bytes.size() && pieces_ok; at += split) {
    pieces_ok = pieces.feed(std::string_view(bytes).substr(at, split), piece_events);
    pieces.release_if_idle();  // as a quiet connection does: resuming must not change the result
  }

  if (transcript(whole_events, whole_ok, whole.error()) != transcript(piece_events, pieces_ok, pieces.error()))
    std::abort();  // the result depends on where the network split the bytes

  // A reset (stream restart) must leave a usable parser behind.
  pieces.reset();
  piece_events.clear();
  pieces.feed("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", piece_events);
  return 0;
}

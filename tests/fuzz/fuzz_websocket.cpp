// A client's WebSocket bytes (RFC 6455 frames carrying RFC 7395 messages) fed to the framing
// at arbitrary splits, the framing's buffers released between pieces where it can: it must
// never crash or leak, and what it reports (events, its own answers, the verdict) must not
// depend on how the network split the bytes.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "stream/websocket_framing.hpp"

namespace {

using xmppd::stream::Framing;
using xmppd::stream::WebSocketFraming;
using namespace xmppd::xml;

std::string transcript(const std::vector<Event>& events, const std::string& out, Framing::Fed fed,
                       const Framing& framing) {
  std::string text;
  for (const Event& e : events) {
    if (auto* open = std::get_if<StreamOpen>(&e)) text += "open " + open->header.str() + "\n";
    else if (auto* stanza = std::get_if<Stanza>(&e)) text += "stanza " + stanza->element.str() + "\n";
    else text += "close\n";
  }
  text += "out " + out + "\n";
  if (fed == Framing::Fed::stream_error) text += std::string("error ") + framing.error_condition();
  if (fed == Framing::Fed::closed) text += "closed";
  return text;
}

ParserLimits small_limits() { return ParserLimits{.max_stanza_bytes = 4096, .max_depth = 8, .max_attributes = 8}; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider input(data, size);
  std::size_t split = input.ConsumeIntegralInRange<std::size_t>(1, 64);
  std::string bytes = input.ConsumeRemainingBytesAsString();

  WebSocketFraming whole(small_limits());
  std::vector<Event> whole_events;
  std::string whole_out;
  Framing::Fed whole_fed = whole.feed(bytes, whole_events, whole_out);

  WebSocketFraming pieces(small_limits());
  std::vector<Event> piece_events;
  std::string piece_out;
  Framing::Fed piece_fed = Framing::Fed::ok;
  for (std::size_t at = 0; at < bytes.size() && piece_fed == Framing::Fed::ok; at += split) {
    piece_fed = pieces.feed(std::string_view(bytes).substr(at, split), piece_events, piece_out);
    pieces.release_if_idle();  // as a quiet connection does
  }

  if (transcript(whole_events, whole_out, whole_fed, whole) != transcript(piece_events, piece_out, piece_fed, pieces))
    std::abort();  // the result depends on where the network split the bytes

  // A stream restart must leave a usable framing behind.
  pieces.restart();
  std::string out;
  pieces.element(out, 0);
  return 0;
}

// XMPP over WebSocket below the session: the RFC 6455 frame codec and the RFC 7395 framing.
#include <gtest/gtest.h>

#include "net/websocket.hpp"
#include "stream/websocket_framing.hpp"

namespace {

namespace ws = xmppd::net::websocket;
using xmppd::stream::Framing;
using xmppd::stream::WebSocketFraming;
using Result = ws::FrameReader::Result;

// A client frame: masked, as RFC 6455 §5.3 requires of clients.
std::string client_frame(std::string_view payload, std::uint8_t opcode = 1, bool fin = true, bool masked = true) {
  std::string frame;
  frame += char((fin ? 0x80 : 0) | opcode);
  const char mask_bit = masked ? char(0x80) : 0;
  if (payload.size() < 126) {
    frame += char(mask_bit | char(payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    frame += char(mask_bit | 126);
    frame += char(payload.size() >> 8);
    frame += char(payload.size() & 0xFF);
  } else {
    frame += char(mask_bit | 127);
    for (int i = 7; i >= 0; --i) frame += char((std::uint64_t(payload.size()) >> (8 * i)) & 0xFF);
  }
  const char mask[4] = {0x37, char(0xfa), 0x21, 0x3d};
  if (masked) frame.append(mask, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) frame += masked ? char(payload[i] ^ mask[i & 3]) : payload[i];
  return frame;
}

// What a server frame carries: (opcode, payload) pairs, in order.
std::vector<std::pair<int, std::string>> server_frames(std::string_view bytes) {
  std::vector<std::pair<int, std::string>> frames;
  while (!bytes.empty()) {
    EXPECT_EQ(std::uint8_t(bytes[0]) & 0x80, 0x80) << "not final";
    EXPECT_EQ(std::uint8_t(bytes[1]) & 0x80, 0) << "a server must not mask";
    std::size_t size = std::uint8_t(bytes[1]) & 0x7F, head = 2;
    if (size == 126) size = (std::size_t(std::uint8_t(bytes[2])) << 8) | std::uint8_t(bytes[3]), head = 4;
    frames.emplace_back(std::uint8_t(bytes[0]) & 0x0F, std::string(bytes.substr(head, size)));
    bytes.remove_prefix(head + size);
  }
  return frames;
}

TEST(WebSocket, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocket, ReadsMaskedMessagesSplitAnywhere) {
  std::string bytes = client_frame("<presence/>") + client_frame(std::string(300, 'x'));
  ws::FrameReader reader(1024);
  std::vector<std::string> messages;
  for (char c : bytes) {  // one byte at a time
    reader.append(std::string_view(&c, 1));
    for (Result r; (r = reader.next()) != Result::need_more;) {
      ASSERT_EQ(r, Result::message);
      messages.emplace_back(reader.payload());
    }
  }
  EXPECT_EQ(messages, (std::vector<std::string>{"<presence/>", std::string(300, 'x')}));
  EXPECT_TRUE(reader.release_if_idle());
}

TEST(WebSocket, ReassemblesFragmentsAroundControlFrames) {
  ws::FrameReader reader(1024);
  reader.append(client_frame("<mess", 1, false) + client_frame("hi", 9) + client_frame("age/>", 0, true));
  ASSERT_EQ(reader.next(), Result::ping);  // control frames may come between fragments
  EXPECT_EQ(reader.payload(), "hi");
  ASSERT_EQ(reader.next(), Result::message);
  EXPECT_EQ(reader.payload(), "<message/>");
  EXPECT_EQ(reader.next(), Result::need_more);
}

TEST(WebSocket, RefusesWhatRfc6455AndRfc7395Forbid) {
  struct Case {
    std::string bytes;
    std::uint16_t code;
  };
  const std::vector<Case> cases = {
      {client_frame("<a/>", 1, true, false), ws::protocol_error},          // unmasked
      {client_frame("\x01\x02", 2), ws::unsupported_data},                  // binary
      {client_frame(std::string(2000, 'x')), ws::message_too_big},          // over the limit
      {client_frame("<a>\xC3\x28</a>"), ws::invalid_payload},               // not UTF-8
      {client_frame("<a>\xED\xA0\x80</a>"), ws::invalid_payload},           // a UTF-16 surrogate
      {client_frame("more", 0), ws::protocol_error},                        // continuation first
      {client_frame(std::string(200, 'p'), 9), ws::protocol_error},         // long control frame
      {std::string("\xC1\x80\0\0\0\0", 6), ws::protocol_error},             // reserved bit
      {std::string("\x81\xFF\x7F\xFF\xFF\xFF\xFF\xFF\xFF\xF0", 10), ws::message_too_big},  // 2^63 - 16 bytes
      {std::string("\x81\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xF0", 10), ws::protocol_error},   // top bit set
  };
  for (const auto& c : cases) {
    ws::FrameReader reader(1024);
    reader.append(c.bytes);
    EXPECT_EQ(reader.next(), Result::error) << c.code;
    EXPECT_EQ(reader.close_code(), c.code) << reader.error_text();
  }
}

TEST(WebSocket, AcceptsUtf8ItShould) {
  EXPECT_TRUE(ws::valid_utf8("plain ascii, long enough to take the fast path"));
  EXPECT_TRUE(ws::valid_utf8("聊天记录 🙂 é"));
  EXPECT_FALSE(ws::valid_utf8("\xC0\xAF"));  // overlong '/'
  EXPECT_FALSE(ws::valid_utf8("\xF4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(ws::valid_utf8("ok\xE2\x82"));  // cut short
}

TEST(WebSocketFraming, OpenAndCloseAreStreamEvents) {
  WebSocketFraming framing({});
  std::vector<xmppd::xml::Event> events;
  std::string out;
  ASSERT_EQ(framing.feed(client_frame("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' version='1.0'/>") +
                             client_frame("<message to='bob@localhost'><body>hi</body></message>") +
                             client_frame("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>"),
                         events, out),
            Framing::Fed::ok);
  ASSERT_EQ(events.size(), 3u);
  auto* open = std::get_if<xmppd::xml::StreamOpen>(&events[0]);
  ASSERT_TRUE(open);
  EXPECT_EQ(open->header.attr_or("to"), "localhost");
  EXPECT_EQ(open->header.attr_or("xmlns"), "jabber:client");
  auto* stanza = std::get_if<xmppd::xml::Stanza>(&events[1]);
  ASSERT_TRUE(stanza);
  EXPECT_TRUE(stanza->element.is("message", "jabber:client"));  // the namespace a client may leave out
  EXPECT_TRUE(std::holds_alternative<xmppd::xml::StreamClose>(events[2]));
  EXPECT_TRUE(out.empty());
}

TEST(WebSocketFraming, AMessageHoldsExactlyOneWholeElement) {
  for (std::string_view bad : {"<a/><b/>", "<message><body>cut", "text", "<!-- no -->"}) {
    WebSocketFraming framing({});
    std::vector<xmppd::xml::Event> events;
    std::string out;
    EXPECT_EQ(framing.feed(client_frame(bad), events, out), Framing::Fed::stream_error) << bad;
    EXPECT_TRUE(events.empty()) << bad << ": nothing of a broken message is acted on";
  }
  WebSocketFraming framing({});
  std::vector<xmppd::xml::Event> events;
  std::string out;
  framing.feed(client_frame("<!-- no -->"), events, out);
  EXPECT_STREQ(framing.error_condition(), "restricted-xml");
}

TEST(WebSocketFraming, AnswersPingsAndCloses) {
  WebSocketFraming framing({});
  std::vector<xmppd::xml::Event> events;
  std::string out;
  EXPECT_EQ(framing.feed(client_frame("beat", 9), events, out), Framing::Fed::ok);
  EXPECT_EQ(framing.feed(client_frame("\x03\xE8", 8), events, out), Framing::Fed::closed);
  auto frames = server_frames(out);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], (std::pair<int, std::string>{10, "beat"}));  // pong echoes the ping
  EXPECT_EQ(frames[1], (std::pair<int, std::string>{8, "\x03\xE8"}));  // close echoes 1000
}

TEST(WebSocketFraming, EachElementIsOneStandaloneMessage) {
  WebSocketFraming framing({});
  std::string out;
  framing.open_stream(out, "abc", "localhost");
  std::size_t from = out.size();
  out += "<message to='a@b/c d xmlns=x' type='chat'><body>hi</body></message>";
  framing.element(out, from);
  from = out.size();
  out += "<r xmlns='urn:xmpp:sm:3'/>";
  framing.element(out, from);
  from = out.size();
  out += "<stream:features" + std::string(framing.stream_prefix()) + "><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>";
  framing.element(out, from);
  framing.close_stream(out);
  auto frames = server_frames(out);
  ASSERT_EQ(frames.size(), 6u);
  EXPECT_EQ(frames[0].second,
            "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='abc' from='localhost' version='1.0' xml:lang='en'/>");
  EXPECT_EQ(frames[1].second,
            "<message xmlns='jabber:client' to='a@b/c d xmlns=x' type='chat'><body>hi</body></message>");
  EXPECT_EQ(frames[2].second, "<r xmlns='urn:xmpp:sm:3'/>");
  EXPECT_EQ(frames[3].second,
            "<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind "
            "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
  EXPECT_EQ(frames[4].second, "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  EXPECT_EQ(frames[5], (std::pair<int, std::string>{8, "\x03\xE8"}));
}

TEST(WebSocketFraming, ProbesWithAPing) {
  WebSocketFraming framing({});
  std::string out;
  EXPECT_TRUE(framing.probe(out));
  EXPECT_EQ(server_frames(out), (std::vector<std::pair<int, std::string>>{{9, ""}}));
}

TEST(WebSocketFraming, LargeElementsGetTheLongHeader) {
  WebSocketFraming framing({});
  std::string out = "<message><body>" + std::string(70000, 'x') + "</body></message>";
  framing.element(out, 0);
  ASSERT_EQ(std::uint8_t(out[1]), 127);
  std::uint64_t size = 0;
  for (int i = 0; i < 8; ++i) size = (size << 8) | std::uint8_t(out[2 + i]);
  EXPECT_EQ(size, out.size() - 10);
}

}  // namespace

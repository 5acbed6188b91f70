// The bookkeeping behind a client session's reliability: XEP-0198 counters and queue,
// the output fence, and what client state indication holds back.
#include <gtest/gtest.h>

#include <limits>

#include "stream/csi_buffer.hpp"
#include "stream/output_fence.hpp"
#include "stream/stream_management.hpp"

namespace {

using xmppd::Element;
using xmppd::stream::CsiBuffer;
using xmppd::stream::OutputFence;
using xmppd::stream::StreamManagement;

std::string unacked_bytes(const StreamManagement& sm) {
  std::string all;
  for (std::size_t i = 0; i < sm.unacked_count(); ++i) all.append(sm.unacked(i));
  return all;
}

TEST(StreamManagement, AcknowledgedStanzasLeaveTheQueueInOrder) {
  StreamManagement sm;
  for (int i = 0; i < 5; ++i) sm.sent("s" + std::to_string(i));
  EXPECT_EQ(sm.sent_count(), 5u);
  EXPECT_TRUE(sm.acknowledge(2));
  ASSERT_EQ(sm.unacked_count(), 3u);
  EXPECT_EQ(unacked_bytes(sm), "s2s3s4");
  EXPECT_TRUE(sm.acknowledge(2));    // the same 'h' again changes nothing
  EXPECT_FALSE(sm.acknowledge(6));   // more than was sent
  EXPECT_EQ(sm.unacked_count(), 3u);
  EXPECT_TRUE(sm.acknowledge(4));  // past half of the buffer: compacted, same contents
  EXPECT_EQ(unacked_bytes(sm), "s4");
  sm.sent("s5");
  EXPECT_EQ(sm.take_unacked(), (std::vector<std::string>{"s4", "s5"}));
  EXPECT_EQ(sm.sent_count(), 6u);
  EXPECT_TRUE(sm.acknowledge(6));
  EXPECT_EQ(sm.unacked_count(), 0u);
  EXPECT_FALSE(sm.oldest_unacked());
}

TEST(StreamManagement, CountersWrapAt32Bits) {
  constexpr std::uint32_t kMax = std::numeric_limits<std::uint32_t>::max();
  StreamManagement sm(kMax - 1);
  for (int i = 0; i < 4; ++i) sm.sent("s" + std::to_string(i));
  EXPECT_EQ(sm.sent_count(), 2u);     // kMax - 1 + 4, modulo 2^32
  EXPECT_TRUE(sm.acknowledge(kMax));  // the first, before the wrap
  EXPECT_EQ(unacked_bytes(sm), "s1s2s3");
  EXPECT_TRUE(sm.acknowledge(1));     // two more, across the wrap
  ASSERT_EQ(sm.unacked_count(), 1u);
  EXPECT_EQ(unacked_bytes(sm), "s3");
  EXPECT_FALSE(sm.acknowledge(3));    // one more than was sent
  sm.count_handled();
  sm.count_handled();
  EXPECT_EQ(sm.handled(), 0u);        // kMax - 1 + 2
}

TEST(StreamManagement, ParsesOnlyDecimal32BitH) {
  EXPECT_EQ(StreamManagement::parse_h("0"), 0u);
  EXPECT_EQ(StreamManagement::parse_h("4294967295"), 4294967295u);
  EXPECT_FALSE(StreamManagement::parse_h("4294967296"));
  EXPECT_FALSE(StreamManagement::parse_h("-1"));
  EXPECT_FALSE(StreamManagement::parse_h(""));
  EXPECT_FALSE(StreamManagement::parse_h("12a"));
}

TEST(OutputFence, OutputWaitsForEveryHoldOpenWhenItWasQueued) {
  OutputFence fence;
  std::string out;
  EXPECT_EQ(&fence.sink(out), &out);  // nothing held: straight out
  auto first = fence.hold();
  fence.sink(out) += "A";
  auto second = fence.hold();
  fence.sink(out) += "B";
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(fence.release(second, out));  // A still waits for the first hold
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(fence.release(first, out));
  EXPECT_EQ(out, "AB");
  EXPECT_TRUE(fence.open());
}

TEST(OutputFence, AnEarlierReleaseFreesWhatOnlyWaitedForIt) {
  OutputFence fence;
  std::string out;
  auto first = fence.hold();
  fence.sink(out) += "A";  // waits for first
  auto second = fence.hold();
  fence.sink(out) += "B";  // waits for first and second
  EXPECT_TRUE(fence.release(first, out));
  EXPECT_EQ(out, "A");
  EXPECT_TRUE(fence.release(second, out));
  EXPECT_EQ(out, "AB");
}

Element parse(const char* xml) { return *Element::parse(xml); }

TEST(CsiBuffer, PresenceAndChatStatesWaitWhateverAPersonReadsDoesNot) {
  EXPECT_TRUE(CsiBuffer::can_wait(parse("<presence from='a@x/1'/>")));
  EXPECT_TRUE(CsiBuffer::can_wait(parse("<presence type='unavailable' from='a@x/1'/>")));
  EXPECT_FALSE(CsiBuffer::can_wait(parse("<presence type='subscribe' from='a@x'/>")));
  EXPECT_TRUE(CsiBuffer::can_wait(
      parse("<message type='chat'><composing xmlns='http://jabber.org/protocol/chatstates'/></message>")));
  EXPECT_TRUE(CsiBuffer::can_wait(parse("<message><received xmlns='urn:xmpp:receipts' id='1'/></message>")));
  EXPECT_FALSE(CsiBuffer::can_wait(parse("<message type='chat'><body>hi</body></message>")));
  EXPECT_FALSE(CsiBuffer::can_wait(parse("<message><encrypted xmlns='eu.siacs.conversations.axolotl'/></message>")));
  EXPECT_FALSE(CsiBuffer::can_wait(parse("<iq type='get' id='1'/>")));
}

TEST(CsiBuffer, KeepsTheLatestPresencePerSenderInArrivalOrder) {
  CsiBuffer buffer;
  auto hold = [&](const char* xml) { buffer.hold(xml, parse(xml)); };
  hold("<presence from='a@x/1'><status>1</status></presence>");
  hold("<message from='b@x/1'><active xmlns='http://jabber.org/protocol/chatstates'/></message>");
  hold("<presence from='c@x/1'/>");
  hold("<presence from='a@x/1'><status>2</status></presence>");
  auto held = buffer.take();
  ASSERT_EQ(held.size(), 3u);
  EXPECT_NE(held[0].find("b@x"), std::string::npos);
  EXPECT_NE(held[1].find("c@x"), std::string::npos);
  EXPECT_NE(held[2].find("<status>2"), std::string::npos);
  EXPECT_TRUE(buffer.empty());
}

}  // namespace

// XEP-0198 stream management and the durability barrier against the real binary, at the
// byte level: the exact answers to misuse, counters, resumption, and that nothing the
// server acknowledged (an IQ result, an <a/>) is lost when it is killed right afterwards.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <iostream>
#include <string>
#include <vector>

#include <xmppd/namespaces.hpp>

#include "auth/scram.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace xmppd::test {
namespace {

constexpr const char* kSm = "urn:xmpp:sm:3";
constexpr const char* kModules = "modules = [\"roster\", \"presence\", \"offline\", \"ping\"]\n";
constexpr const char* kOfflineRoom = "[modules.offline]\nmax_messages = 100000\n";
constexpr const char* kNoRateLimit = "[c2s.limits]\nmax_bytes_per_second = 0\n";

std::string enable(bool resume = true) {
  return std::string("<enable xmlns='urn:xmpp:sm:3'") + (resume ? " resume='true'" : "") + "/>";
}

// The condition inside <failed/>.
std::string failed_condition(const Element& failed) {
  EXPECT_TRUE(failed.is("failed", kSm)) << failed.str();
  const Element* condition = failed.first_child();
  return condition ? condition->name() : std::string();
}

std::string chat(const std::string& to, const std::string& id) {
  return "<message to='" + to + "' type='chat' id='" + id + "'><body>" + id + "</body></message>";
}

// SASL and a new stream, no bind: where <resume/> and a premature <enable/> go.
void authenticate_only(TestClient& client, const std::string& user, const std::string& password) {
  client.open_stream();
  client.starttls();
  client.open_stream();
  std::string plain = std::string(1, '\0') + user + std::string(1, '\0') + password;
  client.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + auth::base64_encode(plain) + "</auth>");
  EXPECT_EQ(client.next().name(), "success");
  Element features = client.open_stream();
  EXPECT_TRUE(features.child("sm", kSm)) << "stream management not offered: " << features.str();
}

TEST(StreamManagement, OfferedAfterAuthenticationAndEnabledOnceAfterBind) {
  TestServer server({}, {}, kModules);
  server.add_user("alice@localhost", "alice-pass");
  TestClient early(server.starttls_port());
  authenticate_only(early, "alice", "alice-pass");
  early.send(enable());  // XEP-0198 §3: not before binding a resource
  EXPECT_EQ(failed_condition(early.next()), "unexpected-request");

  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass", "one");
  alice.send(enable());
  Element enabled = alice.next();
  ASSERT_TRUE(enabled.is("enabled", kSm)) << enabled.str();
  EXPECT_EQ(enabled.attr_or("resume"), "true");
  EXPECT_GE(enabled.attr_or("id").size(), 15u);
  EXPECT_EQ(enabled.attr_or("max"), "300");
  alice.send(enable());  // only once per stream
  EXPECT_EQ(failed_condition(alice.next()), "unexpected-request");
}

TEST(StreamManagement, CountsHandledStanzasAndAsksForAcks) {
  TestServer server({}, {}, kModules);
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send(enable(false));
  ASSERT_TRUE(alice.next().is("enabled", kSm));
  TestClient bob(server.starttls_port());
  bob.login("bob", "bob-pass", "b");
  bob.send(enable(false) + "<presence/>");
  ASSERT_TRUE(bob.next_named("enabled").is("enabled", kSm));

  // Three stanzas from alice, then <r/>: h counts all three (the ping's result too).
  alice.send(chat("bob@localhost/b", "1") + chat("bob@localhost/b", "2") +
             "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq><r xmlns='urn:xmpp:sm:3'/>");
  EXPECT_EQ(alice.next_named("iq").attr_or("id"), "p");
  Element a = alice.next_named("a");
  EXPECT_EQ(a.attr_or("h"), "3") << a.str();

  // Bob is sent five stanzas (default request_ack_every = 5): the server asks for an ack.
  for (int i = 3; i <= 6; ++i) alice.send(chat("bob@localhost/b", std::to_string(i)));
  std::vector<std::string> order;
  for (;;) {
    Element e = bob.next();
    if (e.is("r", kSm)) break;
    if (e.name() == "message") order.push_back(std::string(e.attr_or("id")));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "3", "4"}));
  bob.send("<a xmlns='urn:xmpp:sm:3' h='5'/>");  // presence echo + 4 messages... any valid h
  // A flood of acks for what was already acknowledged changes nothing.
  std::string flood;
  for (int i = 0; i < 2000; ++i) flood += "<a xmlns='urn:xmpp:sm:3' h='5'/>";
  bob.send(flood + "<r xmlns='urn:xmpp:sm:3'/>");
  EXPECT_EQ(bob.next_named("a").attr_or("h"), "1");  // bob sent one stanza: his presence

  // Acknowledging more than was sent ends the stream (XEP-0198 §4).
  alice.send("<a xmlns='urn:xmpp:sm:3' h='1000'/>");
  EXPECT_EQ(alice.expect_stream_error(), "undefined-condition");
  // Everyone else is still served.
  bob.send("<iq type='get' id='still'><ping xmlns='urn:xmpp:ping'/></iq>");
  EXPECT_EQ(bob.next_named("iq").attr_or("id"), "still");
}

TEST(StreamManagement, ResumesOnlyTheAccountsOwnSession) {
  TestServer server({}, {}, kModules);
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  server.add_user("eve@localhost", "eve-pass");
  std::string id;
  {
    TestClient bob(server.starttls_port());
    bob.login("bob", "bob-pass", "phone");
    bob.send(enable());
    id = std::string(bob.next().attr_or("id"));
    ::shutdown(bob.fd(), SHUT_RDWR);  // the network goes away: no stream close
  }
  server.wait_for_log("bob@localhost/phone hibernated");
  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send(chat("bob@localhost/phone", "while-away-1") + chat("bob@localhost/phone", "while-away-2"));

  TestClient eve(server.starttls_port());  // another account with bob's id
  authenticate_only(eve, "eve", "eve-pass");
  eve.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  EXPECT_EQ(failed_condition(eve.next()), "item-not-found");
  TestClient nobody(server.starttls_port());  // an id no one has
  authenticate_only(nobody, "bob", "bob-pass");
  nobody.send("<resume xmlns='urn:xmpp:sm:3' previd='0123' h='0'/>");
  EXPECT_EQ(failed_condition(nobody.next()), "item-not-found");

  TestClient back(server.starttls_port());
  authenticate_only(back, "bob", "bob-pass");
  back.send("<resume xmlns='urn:xmpp:sm:3' previd='" + id + "' h='0'/>");
  Element resumed = back.next();
  ASSERT_TRUE(resumed.is("resumed", kSm)) << resumed.str();
  EXPECT_EQ(resumed.attr_or("previd"), id);
  EXPECT_EQ(back.next_named("message").attr_or("id"), "while-away-1");
  EXPECT_EQ(back.next_named("message").attr_or("id"), "while-away-2");
  // The resumed session is the same full JID, and live.
  alice.send(chat("bob@localhost/phone", "after"));
  EXPECT_EQ(back.next_named("message").attr_or("id"), "after");
}

TEST(StreamManagement, ANewBindOfAHibernatedResourceGetsItsQueue) {
  TestServer server({}, {}, kModules);
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  {
    TestClient bob(server.starttls_port());
    bob.login("bob", "bob-pass", "phone");
    bob.send(enable());
    ASSERT_TRUE(bob.next().is("enabled", kSm));
    ::shutdown(bob.fd(), SHUT_RDWR);
  }
  server.wait_for_log("bob@localhost/phone hibernated");
  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send(chat("bob@localhost/phone", "queued") + "<iq type='get' id='p'><ping xmlns='urn:xmpp:ping'/></iq>");
  ASSERT_EQ(alice.next_named("iq").attr_or("id"), "p");
  TestClient again(server.starttls_port());  // binds the same resource instead of resuming
  again.login("bob", "bob-pass", "phone");
  Element message = again.next_named("message");
  EXPECT_EQ(message.attr_or("id"), "queued");
  EXPECT_TRUE(message.child("delay", "urn:xmpp:delay")) << message.str();
}

// Issue 15's measurement: 50 messages to an offline contact, then a ping; the server is
// killed the moment the ping's result arrives. All 50 must be stored.
void kill_at_reply(TestServer& server, int count, bool with_sm);
void kill_at_reply(int count, bool with_sm) {
  TestServer server(std::string(kOfflineRoom), kNoRateLimit, kModules);
  kill_at_reply(server, count, with_sm);
  if (::testing::Test::HasFailure()) std::cerr << "server log after the restart:\n" << server.log();
}

void kill_at_reply(TestServer& server, int count, bool with_sm) {
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  {
    TestClient alice(server.starttls_port());
    alice.login("alice", "alice-pass");
    if (with_sm) {
      alice.send(enable(false));
      ASSERT_TRUE(alice.next().is("enabled", kSm));
    }
    std::string burst;
    for (int i = 0; i < count; ++i) burst += chat("bob@localhost", "m" + std::to_string(i));
    if (with_sm) {
      alice.send(burst + "<r xmlns='urn:xmpp:sm:3'/>");
      Element a = alice.next_named("a", std::chrono::seconds(20));
      ASSERT_EQ(a.attr_or("h"), std::to_string(count));
    } else {
      alice.send(burst + "<iq type='get' id='ping'><ping xmlns='urn:xmpp:ping'/></iq>");
      ASSERT_EQ(alice.next_named("iq", std::chrono::seconds(20)).attr_or("id"), "ping");
    }
    server.kill_hard();
  }
  server.start();
  TestClient bob(server.starttls_port());
  bob.login("bob", "bob-pass");
  bob.send("<presence/>");
  int received = 0;
  try {
    for (; received < count; ++received)
      ASSERT_EQ(bob.next_named("message").attr_or("id"), "m" + std::to_string(received));
  } catch (const std::runtime_error&) {  // nothing more came
  }
  EXPECT_EQ(received, count) << count - received << " acknowledged messages lost";
  EXPECT_EQ(server.stop(), 0);
}

TEST(Durability, KilledAtThePingResultLosesNoneOf50) {
  for (int round = 0; round < 3; ++round) kill_at_reply(50, false);
}
TEST(Durability, KilledAtTheSmAckLosesNoneOf50) {
  for (int round = 0; round < 3; ++round) kill_at_reply(50, true);
}
TEST(Durability, KilledAtThePingResultLosesNoneOf1000) { kill_at_reply(1000, false); }

constexpr const char* kQuickKeepalive = "keepalive_interval = 1\nkeepalive_timeout = 1\n";

TEST(Keepalive, AnIdleStreamThatDoesNotAnswerAPingIsClosed) {
  TestServer server({}, kQuickKeepalive, kModules);
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  TestClient bob(server.starttls_port());  // answers: stays
  std::string bob_jid = bob.login("bob", "bob-pass", "b");
  TestClient alice(server.starttls_port());  // silent: dead
  std::string jid = alice.login("alice", "alice-pass", "a");
  Element ping = alice.next_named("iq", 3s);
  EXPECT_EQ(ping.attr_or("type"), "get");
  EXPECT_EQ(ping.attr_or("to"), jid);
  EXPECT_TRUE(ping.child("ping", "urn:xmpp:ping")) << ping.str();
  Element bobs = bob.next_named("iq", 3s);
  bob.send("<iq type='result' id='" + std::string(bobs.attr_or("id")) + "' to='localhost'/>");
  EXPECT_TRUE(alice.closed_within(3s));
  server.wait_for_log("alice@localhost/a: no answer to a keepalive");
  bob.send("<iq type='get' id='alive'><ping xmlns='urn:xmpp:ping'/></iq>");
  Element reply = bob.next_named("iq");
  while (reply.attr_or("id") == "keepalive") reply = bob.next_named("iq");  // asked again meanwhile
  EXPECT_EQ(reply.attr_or("id"), "alive");
}

TEST(Keepalive, AStreamManagementStreamThatDoesNotAnswerHibernates) {
  TestServer server({}, kQuickKeepalive, kModules);
  server.add_user("alice@localhost", "alice-pass");
  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send(enable());
  ASSERT_TRUE(alice.next().is("enabled", kSm));
  EXPECT_TRUE(alice.next(3s).is("r", kSm));  // asked for an ack, never answered
  server.wait_for_log("alice@localhost/a hibernated", 5s);
}

}  // namespace
}  // namespace xmppd::test

// Hostile input and the configured limits, against the real xmppd binary: each attack gets
// the stream error the RFC names (or is slowed down), and the server keeps serving a
// bystander who is logged in the whole time.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>

#include <xmppd/namespaces.hpp>

#include "test_client.hpp"
#include "test_server.hpp"

namespace xmppd::test {
namespace {

using clock = std::chrono::steady_clock;
using namespace std::string_literals;

// True if `client`, logged in as `jid`, still gets its stanzas routed.
bool still_served(TestClient& client, const std::string& jid) {
  client.send("<message to='" + jid + "' id='alive'><body>still here</body></message>");
  Element echo = client.next_named("message");
  return echo.attr_or("id") == "alive" && echo.attr_or("from") == jid;
}

// True if a new client gets its stream opened within 5 s: a slot freed by a client that left
// counts only once the server has seen it close, so each refused attempt tries again.
bool admits_a_new_stream(unsigned short port) {
  const auto deadline = clock::now() + std::chrono::seconds(5);
  while (clock::now() < deadline) {
    TestClient again(port);
    try {
      again.open_stream();
      return true;
    } catch (const std::exception&) {  // still refused
    }
  }
  return false;
}

// --- Hostile input: one stream error each, nobody else disturbed --------------------------

struct Attack {
  const char* name;
  std::string bytes;      // sent after the client logged in
  const char* condition;  // the stream error expected
};

std::string billion_laughs() {
  std::string doc = "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'>";
  doc += "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>";
  for (int i = 2; i <= 9; ++i) {
    doc += "<!ENTITY lol" + std::to_string(i) + " '";
    for (int j = 0; j < 10; ++j) doc += "&lol" + std::to_string(i - 1) + ";";
    doc += "'>";
  }
  return doc + "]><message><body>&lol9;</body></message>";
}

std::string nested(int depth) {
  std::string open, close;
  for (int i = 0; i < depth; ++i) {
    open += "<x>";
    close += "</x>";
  }
  return "<message to='bob@localhost'><body/>" + open + close + "</message>";
}

std::string many_attributes(int count) {
  std::string s = "<message to='bob@localhost'";
  for (int i = 0; i < count; ++i) s += " a" + std::to_string(i) + "='v'";
  return s + "/>";
}

class HostileInput : public ::testing::TestWithParam<Attack> {
 protected:
  static void SetUpTestSuite() {
    server_ = std::make_unique<TestServer>();
    server_->add_user("alice@localhost", "alice-pass");
    server_->add_user("bob@localhost", "bob-pass");
  }
  static void TearDownTestSuite() {
    EXPECT_EQ(server_->stop(), 0) << server_->log();
    server_.reset();
  }
  static std::unique_ptr<TestServer> server_;
};
std::unique_ptr<TestServer> HostileInput::server_;

TEST_P(HostileInput, EndsOnlyTheAttackersStream) {
  TestClient bystander(server_->direct_tls_port(), true);
  std::string bob = bystander.login("bob", "bob-pass");
  TestClient attacker(server_->direct_tls_port(), true);
  attacker.login("alice", "alice-pass");
  attacker.send(GetParam().bytes);
  EXPECT_EQ(attacker.expect_stream_error(), GetParam().condition);
  EXPECT_TRUE(still_served(bystander, bob));
}

INSTANTIATE_TEST_SUITE_P(
    Attacks, HostileInput,
    ::testing::Values(
        // Inside a stream a DTD is not even well-formed XML (it belongs in the prolog).
        Attack{"DtdInsideTheStream", billion_laughs(), "not-well-formed"},
        Attack{"UndeclaredEntity", "<message to='bob@localhost'><body>&xxe;</body></message>", "not-well-formed"},
        Attack{"ProcessingInstruction", "<?evil stuff?>", "restricted-xml"},
        Attack{"MismatchedTags", "<message to='bob@localhost'><body></message>", "not-well-formed"},
        Attack{"InvalidUtf8", "<message to='bob@localhost'><body>\xC3\x28\xFF</body></message>", "not-well-formed"},
        Attack{"NulByte", "<message to='bob@localhost'><body>a\0b</body></message>"s,
               "not-well-formed"},
        Attack{"EnormousAttribute", "<message to='bob@localhost' x='" + std::string(300 * 1024, 'a') + "'/>",
               "policy-violation"},
        Attack{"EnormousText", "<message to='bob@localhost'><body>" + std::string(300 * 1024, 'a') + "</body></message>",
               "policy-violation"},
        Attack{"DeepNesting", nested(40), "policy-violation"},
        Attack{"ManyAttributes", many_attributes(80), "policy-violation"},
        Attack{"UnknownStanzaNamespace", "<message xmlns='urn:example:evil'/>", "unsupported-stanza-type"}),
    [](const ::testing::TestParamInfo<Attack>& info) { return info.param.name; });

// Entity declarations in the prolog, where XML allows them: refused before any expansion.
TEST(HostileInputSingle, EntityDeclarationsInTheProlog) {
  TestServer server;
  const std::string header =
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
      "to='localhost' version='1.0'>";
  const std::string external = "<?xml version='1.0'?><!DOCTYPE stream:stream [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>";
  std::string laughs = billion_laughs();
  laughs = laughs.substr(0, laughs.find("]>") + 2);
  for (const std::string& prolog : {laughs, external}) {
    TestClient attacker(server.starttls_port());
    attacker.send(prolog + header);
    EXPECT_EQ(attacker.expect_stream_error(), "restricted-xml") << prolog;
  }
  EXPECT_EQ(server.stop(), 0);
}

// Unclosed tags never complete a stanza: the connection holds at most one stanza's worth
// (max_stanza_bytes) and the client gets policy-violation past it.
TEST(HostileInputSingle, UnclosedTagsCannotGrowPastTheStanzaLimit) {
  TestServer server;
  server.add_user("alice@localhost", "alice-pass");
  TestClient attacker(server.direct_tls_port(), true);
  attacker.login("alice", "alice-pass");
  std::string opens;
  for (int i = 0; i < 20; ++i) opens += "<a>";
  attacker.send("<message to='alice@localhost'>" + opens);
  // Then text forever: it can never be a complete stanza.
  std::string chunk(64 * 1024, 'x');
  for (int i = 0; i < 5; ++i) attacker.send(chunk);
  EXPECT_EQ(attacker.expect_stream_error(), "policy-violation");
  EXPECT_EQ(server.stop(), 0);
}

// --- Limits from [c2s.limits] --------------------------------------------------------------

TEST(Limits, ReadRateSlowsAFastClientDownWithoutDroppingIt) {
  // 4 KiB/s with a 4 KiB burst: 24 KiB of pings cannot be answered in under 5 s.
  TestServer server("", "[c2s.limits]\nmax_bytes_per_second = 4096\nmax_stanza_bytes = 4096\n");
  server.add_user("alice@localhost", "alice-pass");
  TestClient c(server.starttls_port());
  std::string alice = c.login("alice", "alice-pass");
  const std::string padding(180, 'p');
  const int messages = 24 * 1024 / 256;
  std::string burst;
  for (int i = 0; i < messages; ++i)
    burst += "<message to='" + alice + "' id='m" + std::to_string(i) + "'><body>" + padding + "</body></message>";
  ASSERT_GE(burst.size(), 24u * 1024);
  auto start = clock::now();
  c.send(burst);
  for (int i = 0; i < messages; ++i)  // every one arrives, in order: slowed down, not dropped
    ASSERT_EQ(c.next_named("message", 20s).attr_or("id"), "m" + std::to_string(i));
  double seconds = std::chrono::duration<double>(clock::now() - start).count();
  double minimum = double(burst.size() - 4096) / 4096;  // the bucket never holds more than the burst
  EXPECT_GE(seconds, minimum) << "answered " << burst.size() << " bytes in " << seconds << " s";
  EXPECT_EQ(server.stop(), 0);
}

TEST(Limits, ConnectionsPerAddressAreCapped) {
  TestServer server("", "[c2s.limits]\nmax_connections_per_ip = 3\n");
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<TestClient>(server.starttls_port()));
    clients.back()->open_stream();
  }
  TestClient fourth(server.starttls_port());
  EXPECT_EQ(fourth.expect_stream_error(), "policy-violation");
  server.wait_for_log("max_connections_per_ip");

  // A slot frees once one of the three is gone.
  clients.pop_back();
  EXPECT_TRUE(admits_a_new_stream(server.starttls_port()));
  EXPECT_EQ(server.stop(), 0);
}

// The open-file limit bounds how many connections the server can hold. Past it, a new
// client is told so (a resource-constraint stream error) instead of waiting unanswered in the
// backlog, the connected ones are still served, and a freed descriptor admits the next one.
TEST(Limits, ConnectionsBeyondTheOpenFileLimitAreRefusedWithAStreamError) {
#ifdef __SANITIZE_ADDRESS__
  GTEST_SKIP() << "the sanitizers' runtime needs descriptors of its own (UBSan probes memory "
                  "through a pipe), so a server out of them reports false errors";
#endif
  constexpr unsigned kLimit = 48;  // a few dozen connections past what the server opens itself
  TestServer server("", "", "", kLimit);
  server.wait_for_log("open-file limit " + std::to_string(kLimit));
  server.add_user("alice@localhost", "alice-pass");
  TestClient alice(server.starttls_port());
  const std::string jid = alice.login("alice", "alice-pass", "a");

  std::vector<std::unique_ptr<TestClient>> held;
  for (unsigned i = 0; i < kLimit; ++i) {  // each open stream holds one of the server's descriptors
    auto client = std::make_unique<TestClient>(server.starttls_port());
    try {
      client->open_stream();
    } catch (const std::exception&) {
      break;  // refused: the limit is reached
    }
    held.push_back(std::move(client));
  }
  ASSERT_LT(held.size(), kLimit) << "no connection was refused";
  TestClient refused(server.starttls_port());
  EXPECT_EQ(refused.expect_stream_error(), "resource-constraint");
  server.wait_for_log("refusing connections: out of file descriptors \\(open-file limit " + std::to_string(kLimit));
  EXPECT_TRUE(still_served(alice, jid));

  // Room again once a held connection is gone.
  held.pop_back();
  EXPECT_TRUE(admits_a_new_stream(server.starttls_port()));
  EXPECT_EQ(server.stop(), 0);
}

TEST(Limits, SessionsPerAccountAreCapped) {
  TestServer server("", "[c2s.limits]\nmax_sessions_per_account = 2\n");
  server.add_user("alice@localhost", "alice-pass");
  TestClient one(server.direct_tls_port(), true), two(server.direct_tls_port(), true);
  std::string first = one.login("alice", "alice-pass", "one");
  two.login("alice", "alice-pass", "two");
  TestClient third(server.direct_tls_port(), true);
  EXPECT_THROW(third.login("alice", "alice-pass", "three"), std::runtime_error);
  EXPECT_NE(server.wait_for_log("max_sessions_per_account").find("alice@localhost"), std::string::npos);
  // Binding a resource that is already online replaces it: still within the limit.
  TestClient replacement(server.direct_tls_port(), true);
  EXPECT_EQ(replacement.login("alice", "alice-pass", "two"), "alice@localhost/two");
  EXPECT_EQ(two.expect_stream_error(), "conflict");
  EXPECT_TRUE(still_served(one, first));
  EXPECT_EQ(server.stop(), 0);
}

TEST(Limits, AClientThatNeverReadsIsDisconnected) {
  TestServer server("", "[c2s.limits]\nmax_write_queue_bytes = 65536\nmax_bytes_per_second = 0\n");
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  TestClient sleeper(server.direct_tls_port(), true);
  sleeper.login("alice", "alice-pass", "sleepy");
  int tiny = 4096;
  setsockopt(sleeper.fd(), SOL_SOCKET, SO_RCVBUF, &tiny, sizeof tiny);
  TestClient sender(server.direct_tls_port(), true);
  std::string bob = sender.login("bob", "bob-pass");
  // Headlines: once the sleeper is gone they vanish instead of bouncing back to the sender.
  const std::string message =
      "<message to='alice@localhost/sleepy' type='headline'><body>" + std::string(8000, 'z') + "</body></message>";
  // Far more than the kernel's socket buffers and the 64 KiB queue can hold.
  for (int i = 0; i < 2000; ++i) sender.send(message);
  server.wait_for_log("alice@localhost/sleepy: client is not reading; closing");
  EXPECT_TRUE(still_served(sender, bob));
  EXPECT_EQ(server.stop(), 0);
}

TEST(Limits, SaslRetriesOnOneStreamAreCapped) {
  TestServer server("[auth]\nmax_failures = 1000\n");
  server.add_user("alice@localhost", "alice-pass");
  TestClient c(server.direct_tls_port(), true);
  c.open_stream();
  const std::string wrong = "AGFsaWNlAHdyb25n";  // \0alice\0wrong
  for (int attempt = 1; attempt <= 5; ++attempt) {
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + wrong + "</auth>");
    Element failure = c.next_named("failure");
    ASSERT_EQ(failure.first_child()->name(), "not-authorized") << "attempt " << attempt;
  }
  // RFC 6120 §6.4.5: after a few retries the server ends the stream.
  EXPECT_EQ(c.expect_stream_error(), "policy-violation");
  EXPECT_EQ(server.stop(), 0);
}

// --- Slow and broken connections -----------------------------------------------------------

class SlowClients : public ::testing::Test {
 protected:
  TestServer server_{"", "auth_timeout = 2\n"};
};

TEST_F(SlowClients, TricklingBytesDoesNotExtendTheAuthTimeout) {
  TestClient slowloris(server_.starttls_port());
  const std::string header =
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>"
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AGFsaWNl";
  auto start = clock::now();
  bool closed = false;
  for (char byte : header) {
    try {
      slowloris.send(std::string(1, byte));
    } catch (const std::exception&) {
      closed = true;
      break;
    }
    if (slowloris.closed_within(200ms)) {
      closed = true;
      break;
    }
  }
  ASSERT_TRUE(closed) << "the trickle kept the connection open";
  EXPECT_LT(clock::now() - start, 6s);
  server_.wait_for_log("stream error connection-timeout");
}

TEST_F(SlowClients, TlsHandshakeThatNeverFinishesIsDropped) {
  TestClient stalled(server_.direct_tls_port(), false);  // TCP only: no ClientHello at all
  stalled.send(std::string("\x16\x03\x01\x00\xc8\x01", 6));  // the start of a ClientHello, then nothing
  EXPECT_TRUE(stalled.closed_within(6s));
}

TEST_F(SlowClients, HalfClosedSocketEndsTheSession) {
  server_.add_user("alice@localhost", "alice-pass");
  TestClient c(server_.starttls_port());
  std::string jid = c.login("alice", "alice-pass", "half");
  ::shutdown(c.fd(), SHUT_WR);
  server_.wait_for_log(jid + " disconnected");
  EXPECT_TRUE(c.closed_within(5s));
}

}  // namespace
}  // namespace xmppd::test

// The real xmppd binary, spoken to over real sockets: stream negotiation, errors, routing.
#include <gtest/gtest.h>

#include <thread>

#include <xmppd/namespaces.hpp>

#include "auth/scram.hpp"
#include "test_client.hpp"
#include "test_server.hpp"

namespace xmppd::test {
namespace {

class C2S : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.add_user("alice@localhost", "alice-pass");
    server_.add_user("bob@localhost", "bob-pass");
  }
  void TearDown() override { EXPECT_EQ(server_.stop(), 0) << server_.log(); }

  TestServer server_;
};

std::string error_condition(const Element& stanza) {
  const Element* error = stanza.child("error", ns::kClient);
  if (!error) return "(no error)";
  for (const Element& n : error->nodes())
    if (!n.is_text() && n.ns() == ns::kStanzaErrors && n.name() != "text") return n.name();
  return "(no condition)";
}

TEST_F(C2S, OffersOnlyStartTlsBeforeEncryption) {
  TestClient c(server_.starttls_port());
  Element features = c.open_stream();
  const Element* starttls = features.child("starttls", ns::kTls);
  ASSERT_NE(starttls, nullptr);
  EXPECT_NE(starttls->child("required", ns::kTls), nullptr);
  EXPECT_EQ(features.child("mechanisms", ns::kSasl), nullptr);
}

TEST_F(C2S, OffersScramAndPlainAfterStartTls) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.starttls();
  Element features = c.open_stream();
  const Element* mechs = features.child("mechanisms", ns::kSasl);
  ASSERT_NE(mechs, nullptr);
  std::vector<std::string> names;
  for (const Element& m : mechs->nodes())
    if (!m.is_text()) names.push_back(m.text());
  EXPECT_NE(std::find(names.begin(), names.end(), "SCRAM-SHA-256"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "SCRAM-SHA-1"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "PLAIN"), names.end());
  EXPECT_EQ(features.child("starttls", ns::kTls), nullptr);
}

TEST_F(C2S, DirectTlsLoginAndBind) {
  TestClient c(server_.direct_tls_port(), /*direct_tls=*/true);
  EXPECT_EQ(c.login("alice", "alice-pass", "laptop"), "alice@localhost/laptop");
}

TEST_F(C2S, ServerGeneratesResourceWhenNoneRequested) {
  TestClient c(server_.starttls_port());
  std::string jid = c.login("alice", "alice-pass");
  EXPECT_TRUE(jid.starts_with("alice@localhost/")) << jid;
  EXPECT_GT(jid.size(), std::string("alice@localhost/").size());
}

TEST_F(C2S, WrongPasswordIsNotAuthorized) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.starttls();
  c.open_stream();
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
         auth::base64_encode(std::string("\0alice\0wrong", 12)) + "</auth>");
  Element failure = c.next();
  EXPECT_EQ(failure.name(), "failure");
  EXPECT_NE(failure.child("not-authorized", ns::kSasl), nullptr) << failure.str();
}

TEST_F(C2S, UnknownMechanismIsInvalidMechanism) {
  TestClient c(server_.direct_tls_port(), true);
  c.open_stream();
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='X-MADE-UP'>=</auth>");
  Element failure = c.next();
  EXPECT_NE(failure.child("invalid-mechanism", ns::kSasl), nullptr) << failure.str();
}

TEST_F(C2S, BadBase64IsIncorrectEncoding) {
  TestClient c(server_.direct_tls_port(), true);
  c.open_stream();
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>!!!not base64</auth>");
  Element failure = c.next();
  EXPECT_NE(failure.child("incorrect-encoding", ns::kSasl), nullptr) << failure.str();
}

TEST_F(C2S, AbortIsAcknowledged) {
  TestClient c(server_.direct_tls_port(), true);
  c.open_stream();
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'/>");
  EXPECT_EQ(c.next().name(), "challenge");
  c.send("<abort xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
  Element failure = c.next();
  EXPECT_NE(failure.child("aborted", ns::kSasl), nullptr) << failure.str();
}

TEST_F(C2S, SaslBeforeTlsIsRefusedWhenEncryptionRequired) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
         auth::base64_encode(std::string("\0alice\0alice-pass", 17)) + "</auth>");
  EXPECT_EQ(c.expect_stream_error(), "not-authorized");
}

TEST_F(C2S, StanzaBeforeAuthIsNotAuthorized) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.send("<message to='bob@localhost'><body>hi</body></message>");
  EXPECT_EQ(c.expect_stream_error(), "not-authorized");
}

TEST_F(C2S, MalformedXmlIsNotWellFormed) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.send("<message><body>unclosed</message>");
  EXPECT_EQ(c.expect_stream_error(), "not-well-formed");
}

TEST_F(C2S, CommentIsRestrictedXml) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.send("<!-- hello -->");
  EXPECT_EQ(c.expect_stream_error(), "restricted-xml");
}

TEST_F(C2S, DoctypeIsRestrictedXml) {
  TestClient c(server_.starttls_port());
  c.send("<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY lol 'lol'>]>");
  EXPECT_EQ(c.expect_stream_error(), "restricted-xml");
}

TEST_F(C2S, WrongStreamNamespaceIsInvalidNamespace) {
  TestClient c(server_.starttls_port());
  c.send("<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
         "to='localhost' version='1.0'>");
  EXPECT_EQ(c.expect_stream_error(), "invalid-namespace");
}

TEST_F(C2S, UnknownDomainIsHostUnknown) {
  TestClient c(server_.starttls_port());
  c.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' "
         "to='elsewhere.example' version='1.0'>");
  EXPECT_EQ(c.expect_stream_error(), "host-unknown");
}

TEST_F(C2S, MissingVersionIsUnsupportedVersion) {
  TestClient c(server_.starttls_port());
  c.send("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost'>");
  EXPECT_EQ(c.expect_stream_error(), "unsupported-version");
}

TEST_F(C2S, OversizedStanzaIsPolicyViolation) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  c.send("<message><body>" + std::string(300 * 1024, 'x') + "</body></message>");
  EXPECT_EQ(c.expect_stream_error(), "policy-violation");
}

TEST_F(C2S, WhitespaceKeepaliveIsAccepted) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send(" \n \n");
  alice.send("<iq type='get' id='v1' to='localhost'><query xmlns='urn:example:nothing'/></iq>");
  Element reply = alice.next_named("iq");
  EXPECT_EQ(reply.attr_or("id"), "v1");  // still served after the keepalives
}

TEST_F(C2S, ChatMessageToFullAndBareJid) {
  TestClient alice(server_.starttls_port()), bob(server_.direct_tls_port(), true);
  alice.login("alice", "alice-pass", "a");
  bob.login("bob", "bob-pass", "b");
  bob.send("<presence/>");
  bob.send("<iq type='set' id='sync'><session xmlns='urn:ietf:params:xml:ns:xmpp-session'/></iq>");
  ASSERT_EQ(bob.next_named("iq").attr_or("type"), "result");  // presence was processed before

  alice.send("<message to='bob@localhost/b' type='chat' id='m1'><body>to full</body></message>");
  Element m1 = bob.next_named("message");
  EXPECT_EQ(m1.attr_or("from"), "alice@localhost/a");
  EXPECT_EQ(m1.child_text("body", ns::kClient), "to full");

  alice.send("<message to='bob@localhost' type='chat' id='m2'><body>to bare</body></message>");
  Element m2 = bob.next_named("message");
  EXPECT_EQ(m2.attr_or("id"), "m2");
  EXPECT_EQ(m2.child_text("body", ns::kClient), "to bare");
}

// A bound session quiet for a while gives its XML parser back (100 ms after its last read)
// and resumes with a new one: a stanza split across a quiet gap, and stanzas
// after one, must arrive as if the connection had never paused. The pauses are the input
// under test (quiet periods), not a way to wait for the server.
TEST_F(C2S, StanzasAcrossQuietPausesArriveIntact) {
  TestClient alice(server_.starttls_port()), bob(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  bob.login("bob", "bob-pass", "b");
  std::this_thread::sleep_for(700ms);  // quiet after login: the parser may go back to the pool
  alice.send("<message to='bob@localhost/b' type='chat' id='q1'><body>hal");
  std::this_thread::sleep_for(700ms);  // quiet in the middle of a stanza: it must be kept
  alice.send("f</body></message>");
  Element q1 = bob.next_named("message");
  EXPECT_EQ(q1.attr_or("id"), "q1");
  EXPECT_EQ(q1.child_text("body", ns::kClient), "half");
  std::this_thread::sleep_for(700ms);
  alice.send("<message to='bob@localhost/b' type='chat' id='q2'><body>after</body></message>");
  Element q2 = bob.next_named("message");
  EXPECT_EQ(q2.attr_or("from"), "alice@localhost/a");
  EXPECT_EQ(q2.child_text("body", ns::kClient), "after");
}

TEST_F(C2S, SpoofedFromIsInvalidFrom) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send("<message from='bob@localhost/b' to='alice@localhost'><body>x</body></message>");
  EXPECT_EQ(alice.expect_stream_error(), "invalid-from");
}

TEST_F(C2S, UnhandledServerIqIsServiceUnavailable) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send("<iq type='get' id='q1' to='localhost'><query xmlns='urn:example:unknown'/></iq>");
  Element reply = alice.next_named("iq");
  EXPECT_EQ(reply.attr_or("type"), "error");
  EXPECT_EQ(reply.attr_or("id"), "q1");
  EXPECT_EQ(reply.attr_or("from"), "localhost");
  EXPECT_EQ(error_condition(reply), "service-unavailable");
}

TEST_F(C2S, IqWithoutIdIsBadRequest) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send("<iq type='get' to='localhost'><query xmlns='jabber:iq:version'/></iq>");
  Element reply = alice.next_named("iq");
  EXPECT_EQ(error_condition(reply), "bad-request");
}

TEST_F(C2S, MessageToUnknownUserIsServiceUnavailable) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send("<message to='nobody@localhost' type='chat' id='n1'><body>hello?</body></message>");
  Element reply = alice.next_named("message");
  EXPECT_EQ(reply.attr_or("type"), "error");
  EXPECT_EQ(reply.attr_or("from"), "nobody@localhost");
  EXPECT_EQ(error_condition(reply), "service-unavailable");
}

TEST_F(C2S, MessageToRemoteDomainIsRemoteServerNotFound) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send("<message to='carol@remote.example' id='r1'><body>hi</body></message>");
  Element reply = alice.next_named("message");
  EXPECT_EQ(error_condition(reply), "remote-server-not-found");
}

TEST_F(C2S, MalformedToIsJidMalformed) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  alice.send("<message to='a@b@c' id='j1'><body>hi</body></message>");
  Element reply = alice.next_named("message");
  EXPECT_EQ(error_condition(reply), "jid-malformed");
}

TEST_F(C2S, NewSessionWithSameResourceReplacesOld) {
  TestClient first(server_.starttls_port());
  first.login("alice", "alice-pass", "phone");
  TestClient second(server_.starttls_port());
  EXPECT_EQ(second.login("alice", "alice-pass", "phone"), "alice@localhost/phone");
  EXPECT_EQ(first.expect_stream_error(), "conflict");
}

TEST_F(C2S, MalformedClientDoesNotDisturbOthers) {
  TestClient alice(server_.starttls_port()), bob(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  bob.login("bob", "bob-pass", "b");
  TestClient rogue(server_.starttls_port());
  rogue.open_stream();
  rogue.send("<<<>>>");
  EXPECT_EQ(rogue.expect_stream_error(), "not-well-formed");
  alice.send("<message to='bob@localhost/b' type='chat'><body>still here</body></message>");
  EXPECT_EQ(bob.next_named("message").child_text("body", ns::kClient), "still here");
}

TEST_F(C2S, ShutdownSendsSystemShutdown) {
  TestClient alice(server_.starttls_port());
  alice.login("alice", "alice-pass", "a");
  EXPECT_EQ(server_.stop(), 0);
  EXPECT_EQ(alice.expect_stream_error(), "system-shutdown");
}

TEST(VirtualHosts, UsersOfTwoHostsChat) {
  TestServer server("[hosts.\"example.test\"]\n");
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@example.test", "bob-pass");
  TestClient alice(server.starttls_port()), bob(server.starttls_port());
  alice.login("alice", "alice-pass", "a");
  EXPECT_EQ(bob.login("bob", "bob-pass", "b", "example.test"), "bob@example.test/b");
  alice.send("<message to='bob@example.test/b' type='chat'><body>across hosts</body></message>");
  Element m = bob.next_named("message");
  EXPECT_EQ(m.attr_or("from"), "alice@localhost/a");
  EXPECT_EQ(m.child_text("body", ns::kClient), "across hosts");
  // An account of one host cannot log in on the other.
  TestClient wrong(server.starttls_port());
  EXPECT_THROW(wrong.login("alice", "alice-pass", "x", "example.test"), std::runtime_error);
  EXPECT_EQ(server.stop(), 0);
}

// In-band registration carries a password: it must wait for TLS like SASL does.
TEST(C2SModules, UnauthenticatedIqWaitsForTls) {
  TestServer server("[modules.register]\nallow_registration = true\n", {}, "modules = [\"register\"]\n");
  {
    TestClient c(server.starttls_port());
    Element features = c.open_stream();
    EXPECT_EQ(features.child("register", "http://jabber.org/features/iq-register"), nullptr);
    c.send("<iq type='get' id='r1'><query xmlns='jabber:iq:register'/></iq>");
    EXPECT_EQ(c.expect_stream_error(), "not-authorized");
  }
  TestClient c(server.starttls_port());
  c.open_stream();
  c.starttls();
  Element features = c.open_stream();
  EXPECT_NE(features.child("register", "http://jabber.org/features/iq-register"), nullptr);
  c.send("<iq type='get' id='r2'><query xmlns='jabber:iq:register'/></iq>");
  Element reply = c.next_named("iq");
  EXPECT_EQ(reply.attr_or("type"), "result") << reply.str();
  EXPECT_EQ(server.stop(), 0);
}

class C2SLimits : public ::testing::Test {
 protected:
  TestServer server_{"[auth]\nmax_failures = 2\nfailure_window = 60\n", "auth_timeout = 1\n"};
};

TEST_F(C2SLimits, UnauthenticatedStreamTimesOut) {
  TestClient c(server_.starttls_port());
  c.open_stream();
  EXPECT_EQ(c.expect_stream_error(5s), "connection-timeout");
}

TEST_F(C2SLimits, RepeatedFailuresAreThrottledPerIp) {
  server_.add_user("alice@localhost", "alice-pass");
  auto attempt = [&](const std::string& password) {
    TestClient c(server_.direct_tls_port(), true);
    c.open_stream();
    c.send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
           auth::base64_encode(std::string(1, '\0') + "alice" + std::string(1, '\0') + password) + "</auth>");
    Element failure = c.next();
    const Element* condition = failure.first_child();
    return condition ? condition->name() : failure.name();
  };
  EXPECT_EQ(attempt("wrong1"), "not-authorized");
  EXPECT_EQ(attempt("wrong2"), "not-authorized");
  // Even the right password is refused while the address is throttled.
  EXPECT_EQ(attempt("alice-pass"), "temporary-auth-failure");
}

}  // namespace
}  // namespace xmppd::test

// Fan-out through the router: route_to_many and the Audience a module keeps for a room,
// against the real router and sessions that record what they are handed.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "router/audience.hpp"
#include "router/router.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using xmppd::Element;
using xmppd::Jid;
using xmppd::router::Router;
using xmppd::router::Session;
using xmppd::router::SessionAudience;

class RecordingSession final : public Session {
 public:
  RecordingSession(asio::io_context& io, std::string_view jid) : io_(io), jid_(*Jid::parse(jid)) {}
  const Jid& jid() const override { return jid_; }
  asio::any_io_executor executor() override { return io_.get_executor(); }
  void deliver(std::string_view head, const std::string& bytes) override {
    received.push_back(std::string(head) + bytes);
  }
  void deliver(const Element& stanza) override {
    received.push_back(stanza.str("jabber:client"));
    ++unshared;
  }
  void replaced() override {}
  void end(std::string_view, std::string_view) override {}
  std::uint64_t open_hold() override { return ++holds; }
  void close_hold(std::uint64_t) override { ++released; }

  std::vector<std::string> received;
  std::uint64_t holds = 0, released = 0;
  int unshared = 0;  // stanzas handed over as an Element, not as shared bytes

 private:
  asio::io_context& io_;
  Jid jid_;
};

class RouterFanOut : public ::testing::Test {
 protected:
  RouterFanOut()
      : dir_(fs::temp_directory_path() / ("xmppd-router-" + std::to_string(::getpid()))),
        storage_((fs::create_directories(dir_), xmppd::storage::open_sqlite((dir_ / "x.sqlite").string()))),
        router_({"localhost"}, storage_, io_.get_executor()) {}
  ~RouterFanOut() override {
    storage_.stop();
    fs::remove_all(dir_);
  }

  std::shared_ptr<RecordingSession> bind(std::string_view jid) {
    auto session = std::make_shared<RecordingSession>(io_, jid);
    router_.bind(session);
    return session;
  }
  // Runs `f` on the network thread, as a module's strand would, and everything it posted.
  template <class F>
  void on_network_thread(F f) {
    asio::post(io_, f);
    io_.restart();
    io_.run();
  }
  static Element groupchat(std::string_view body) {
    Element m("message", "jabber:client");
    m.set_attr("from", "room@conference.localhost/nick");
    m.set_attr("type", "groupchat");
    m.add_child("body", "jabber:client").add_text(std::string(body));
    return m;
  }

  asio::io_context io_;
  fs::path dir_;
  xmppd::storage::StorageThread storage_;
  Router router_;
};

const std::string kTail = " from='room@conference.localhost/nick' type='groupchat'><body>";

TEST_F(RouterFanOut, OneRecipientOnThisThreadGetsTheStanzaItselfOthersAPostedCopy) {
  auto a = bind("a@localhost/r1");
  auto chat = [] {
    Element m("message", "jabber:client");
    m.set_attr("from", "s@localhost/r");
    m.set_attr("to", "a@localhost/r1");
    m.add_child("body", "jabber:client").add_text("hi");
    return m;
  };
  const std::string expected = "<message from='s@localhost/r' to='a@localhost/r1'><body>hi</body></message>";
  on_network_thread([&] { router_.route(chat()); });
  EXPECT_EQ(a->received, std::vector<std::string>{expected});
  EXPECT_EQ(a->unshared, 1);
  router_.route(chat());  // from another thread: serialized, then posted to the session's
  on_network_thread([] {});
  EXPECT_EQ(a->received, (std::vector<std::string>{expected, expected}));
  EXPECT_EQ(a->unshared, 1);
}

TEST_F(RouterFanOut, RouteToManyGivesEachSessionItsOwnAddress) {
  auto a = bind("a@localhost/r1");
  auto b = bind("b@localhost/x&\"<");
  on_network_thread([&] { router_.route_to_many(groupchat("hi"), {a->jid(), b->jid()}); });
  EXPECT_EQ(a->received, std::vector<std::string>{"<message to='a@localhost/r1'" + kTail + "hi</body></message>"});
  EXPECT_EQ(b->received,
            std::vector<std::string>{"<message to='b@localhost/x&amp;&quot;&lt;'" + kTail + "hi</body></message>"});
}

TEST_F(RouterFanOut, AudienceDeliversEveryStanzaToTheSessionsBoundWhenItWasMade) {
  auto a = bind("a@localhost/r1");
  auto b = bind("b@localhost/r2");
  SessionAudience audience(router_, {a->jid(), b->jid()});
  on_network_thread([&] {
    audience.send(groupchat("one"));
    audience.send(groupchat("two"));
  });
  ASSERT_EQ(a->received.size(), 2u);
  EXPECT_EQ(a->received[1], "<message to='a@localhost/r1'" + kTail + "two</body></message>");
  ASSERT_EQ(b->received.size(), 2u);
  EXPECT_EQ(b->received[0], "<message to='b@localhost/r2'" + kTail + "one</body></message>");
}

TEST_F(RouterFanOut, AudienceFollowsAJidToTheSessionThatReplacedIt) {
  auto first = bind("a@localhost/r1");
  SessionAudience audience(router_, {first->jid()});
  auto second = bind("a@localhost/r1");  // a new connection took over the full JID
  on_network_thread([&] { audience.send(groupchat("after")); });
  EXPECT_TRUE(first->received.empty());
  EXPECT_EQ(second->received, std::vector<std::string>{"<message to='a@localhost/r1'" + kTail + "after</body></message>"});
}

TEST_F(RouterFanOut, AudienceRoutesToAGoneRecipientAsAnyStanza) {
  auto gone = bind("a@localhost/r1");
  auto sender = bind("s@localhost/r");
  SessionAudience audience(router_, {gone->jid()});
  router_.unbind(*gone);
  // A groupchat message to a full JID that has no session is refused (RFC 6121 §8.5.3.2.1),
  // so the error goes back to the sender.
  Element m = groupchat("late");
  m.set_attr("from", "s@localhost/r");
  on_network_thread([&] { audience.send(m); });
  EXPECT_TRUE(gone->received.empty());
  ASSERT_EQ(sender->received.size(), 1u);
  EXPECT_NE(sender->received[0].find("type='error'"), std::string::npos) << sender->received[0];
  EXPECT_NE(sender->received[0].find("service-unavailable"), std::string::npos) << sender->received[0];
}

}  // namespace

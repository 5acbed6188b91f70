// Durability against the real binary: a kill -9 in the middle of a burst of roster changes
// and offline messages loses nothing the server acknowledged and leaves a sound database;
// SIGTERM writes everything it accepted before exiting.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <regex>
#include <set>
#include <string>
#include <vector>

#include <xmppd/namespaces.hpp>

#include "test_client.hpp"
#include "test_server.hpp"

namespace xmppd::test {
namespace {

constexpr const char* kModules = "modules = [\"roster\", \"presence\", \"offline\"]\n";
constexpr const char* kOfflineRoom = "[modules.offline]\nmax_messages = 100000\n";
constexpr const char* kNoRateLimit = "[c2s.limits]\nmax_bytes_per_second = 0\n";

// Runs one query on the server's database (opened as SQLite does after a crash: the WAL is
// recovered) and returns the first column of every row.
std::vector<std::string> query(const TestServer& server, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string path = server.dir() + "/data/xmppd.sqlite";
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK)
    throw std::runtime_error("cannot open " + path);
  std::vector<std::string> rows;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    throw std::runtime_error(sqlite3_errmsg(db));
  while (sqlite3_step(stmt) == SQLITE_ROW)
    rows.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)));
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return rows;
}

// The ids (m<N>) of the stored offline messages, in storage order.
std::vector<int> stored_message_numbers(const TestServer& server) {
  std::vector<int> numbers;
  std::regex id(R"(id=.m(\d+).)");
  for (const auto& stanza : query(server, "SELECT stanza FROM offline_messages ORDER BY id")) {
    std::smatch m;
    if (!std::regex_search(stanza, m, id)) throw std::runtime_error("stored stanza without id: " + stanza);
    numbers.push_back(std::stoi(m[1]));
  }
  return numbers;
}

std::string burst(int count) {
  std::string out;
  for (int i = 0; i < count; ++i) {
    out += "<iq type='set' id='r" + std::to_string(i) + "'><query xmlns='jabber:iq:roster'><item jid='contact" +
           std::to_string(i) + "@example.net' name='Contact " + std::to_string(i) + "'/></query></iq>";
    out += "<message to='bob@localhost' type='chat' id='m" + std::to_string(i) + "'><body>message " +
           std::to_string(i) + "</body></message>";
  }
  return out;
}

TEST(Durability, KillDuringABurstLosesNothingAcknowledged) {
  TestServer server(std::string(kOfflineRoom), kNoRateLimit, kModules);
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");

  constexpr int kCount = 400;
  std::set<std::string> acknowledged;  // roster items whose set the server answered
  {
    TestClient alice(server.starttls_port());
    alice.login("alice", "alice-pass");
    alice.send(burst(kCount));
    // Kill the server while it is still working through the burst.
    while (acknowledged.size() < 40) {
      Element reply = alice.next_named("iq", std::chrono::seconds(20));
      ASSERT_EQ(reply.attr_or("type"), "result") << reply.str();
      acknowledged.insert("contact" + std::string(reply.attr_or("id")).substr(1) + "@example.net");
    }
    server.kill_hard();
    try {  // answers already on their way before the kill count too
      for (;;) {
        Element reply = alice.next_named("iq", std::chrono::seconds(2));
        if (reply.attr_or("type") == "result")
          acknowledged.insert("contact" + std::string(reply.attr_or("id")).substr(1) + "@example.net");
      }
    } catch (const std::exception&) {  // the connection died with the server
    }
  }
  std::cout << acknowledged.size() << " of " << kCount << " roster changes acknowledged before the kill\n";

  // The database survived the crash intact.
  EXPECT_EQ(query(server, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
  // Offline messages are stored in the order they were sent, without gaps.
  std::vector<int> stored = stored_message_numbers(server);
  for (std::size_t i = 0; i < stored.size(); ++i) ASSERT_EQ(stored[i], int(i)) << "gap or reordering";

  server.start();
  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass");
  alice.send("<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>");
  Element roster = alice.next_named("iq");
  std::set<std::string> items;
  for (const Element& item : roster.child("query", "jabber:iq:roster")->nodes())
    if (!item.is_text()) items.insert(std::string(item.attr_or("jid")));
  for (const auto& jid : acknowledged) EXPECT_TRUE(items.contains(jid)) << jid << " was acknowledged, then lost";

  // Bob gets every stored message after the restart.
  TestClient bob(server.starttls_port());
  bob.login("bob", "bob-pass");
  bob.send("<presence/>");
  for (std::size_t i = 0; i < stored.size(); ++i) {
    Element message = bob.next_named("message");
    ASSERT_EQ(message.attr_or("id"), "m" + std::to_string(i));
  }
  EXPECT_EQ(server.stop(), 0);
}

TEST(Durability, SigtermStoresEverythingAccepted) {
  TestServer server(std::string(kOfflineRoom), kNoRateLimit, kModules);
  server.add_user("alice@localhost", "alice-pass");
  server.add_user("bob@localhost", "bob-pass");
  constexpr int kCount = 300;
  TestClient alice(server.starttls_port());
  alice.login("alice", "alice-pass");
  std::string messages;
  for (int i = 0; i < kCount; ++i)
    messages += "<message to='bob@localhost' type='chat' id='m" + std::to_string(i) + "'><body>" +
                std::to_string(i) + "</body></message>";
  // The server has read every message once it answers the IQ sent after them.
  alice.send(messages + "<iq type='get' id='after'><query xmlns='jabber:iq:roster'/></iq>");
  EXPECT_EQ(alice.next_named("iq").attr_or("id"), "after");
  EXPECT_EQ(server.stop(), 0);
  EXPECT_EQ(alice.expect_stream_error(), "system-shutdown");
  EXPECT_EQ(stored_message_numbers(server).size(), std::size_t(kCount));
  EXPECT_EQ(query(server, "PRAGMA integrity_check"), std::vector<std::string>{"ok"});
}

}  // namespace
}  // namespace xmppd::test

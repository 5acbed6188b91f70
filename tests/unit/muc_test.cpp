// The muc module's pure logic: which history a joining occupant gets, and the room
// configuration form.
#include <xmppd/stanza.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>
#include <vector>

#include "history.hpp"
#include "nickname.hpp"
#include "room_config.hpp"

namespace {

using namespace std::chrono_literals;
using muc::Clock;
using muc::History;
using muc::HistoryRequest;
using xmppd::Element;

Element groupchat(const std::string& body) {
  Element m("message", "jabber:client");
  m.set_attr("type", "groupchat");
  m.add_child("body", "jabber:client").add_text(body);
  return m;
}

std::vector<std::string> bodies(const std::vector<const History::Entry*>& entries) {
  std::vector<std::string> out;
  for (const auto* e : entries) out.push_back(e->message.child_text("body", "jabber:client"));
  return out;
}

// Five messages, one a minute, the last one a minute before `now`.
struct HistoryTest : ::testing::Test {
  Clock::time_point now = Clock::from_time_t(1'800'000'000);
  History history{5};
  void SetUp() override {
    for (int i = 1; i <= 5; ++i) history.add(groupchat("m" + std::to_string(i)), now - (6 - i) * 1min);
  }
};

TEST_F(HistoryTest, KeepsOnlyTheNewestUpToTheLimit) {
  history.add(groupchat("m6"), now);
  EXPECT_EQ(history.size(), 5u);
  EXPECT_EQ(bodies(history.select({}, now)), (std::vector<std::string>{"m2", "m3", "m4", "m5", "m6"}));
}

TEST_F(HistoryTest, MaxStanzasTakesTheNewest) {
  HistoryRequest r;
  r.maxstanzas = 2;
  EXPECT_EQ(bodies(history.select(r, now)), (std::vector<std::string>{"m4", "m5"}));
  r.maxstanzas = 0;
  EXPECT_TRUE(history.select(r, now).empty());
}

TEST_F(HistoryTest, SecondsAndSinceCutByTime) {
  HistoryRequest r;
  r.seconds = 150s;  // m3, three minutes old, is too old; m4 and m5 are recent enough
  EXPECT_EQ(bodies(history.select(r, now)), (std::vector<std::string>{"m4", "m5"}));
  HistoryRequest s;
  s.since = now - 3min;  // inclusive
  EXPECT_EQ(bodies(history.select(s, now)), (std::vector<std::string>{"m3", "m4", "m5"}));
}

TEST_F(HistoryTest, MaxCharsCountsWholeStanzas) {
  std::size_t one = groupchat("m5").str("jabber:client").size();
  HistoryRequest r;
  r.maxchars = 2 * one + 1;
  EXPECT_EQ(bodies(history.select(r, now)), (std::vector<std::string>{"m4", "m5"}));
  r.maxchars = one - 1;
  EXPECT_TRUE(history.select(r, now).empty());
  r.maxchars = 0;
  EXPECT_TRUE(history.select(r, now).empty());
}

TEST_F(HistoryTest, TheStrictestLimitWins) {
  HistoryRequest r;
  r.maxstanzas = 4;
  r.seconds = 150s;
  EXPECT_EQ(bodies(history.select(r, now)), (std::vector<std::string>{"m4", "m5"}));
}

TEST(HistoryParse, ReadsTheJoinElement) {
  Element h("history", "http://jabber.org/protocol/muc");
  h.set_attr("maxstanzas", "3");
  h.set_attr("maxchars", "junk");
  h.set_attr("since", "2027-01-15T08:00:00Z");
  HistoryRequest r = HistoryRequest::parse(&h);
  EXPECT_EQ(r.maxstanzas, 3u);
  EXPECT_FALSE(r.maxchars);  // malformed: no limit of that kind
  EXPECT_FALSE(r.seconds);
  ASSERT_TRUE(r.since);
  EXPECT_EQ(r.since, xmppd::stanza::parse_datetime("2027-01-15T08:00:00Z"));
}

TEST(DateTime, ParsesZonesAndFractions) {
  auto base = xmppd::stanza::parse_datetime("2027-01-15T08:00:00Z");
  ASSERT_TRUE(base);
  EXPECT_EQ(xmppd::stanza::parse_datetime("2027-01-15T09:30:00+01:30"), base);
  EXPECT_EQ(xmppd::stanza::parse_datetime("2027-01-15T07:00:00.123-01:00"), *base + std::chrono::milliseconds(123));
  EXPECT_EQ(xmppd::stanza::parse_datetime("2027-01-15T08:00:00.000001Z"), *base + std::chrono::microseconds(1));
  EXPECT_FALSE(xmppd::stanza::parse_datetime("2027-01-15T08:00:00.Z"));
  EXPECT_FALSE(xmppd::stanza::parse_datetime("2027-01-15 08:00:00Z"));
  EXPECT_FALSE(xmppd::stanza::parse_datetime("yesterday"));
  EXPECT_FALSE(xmppd::stanza::parse_datetime("2027-01-15T08:00:00"));  // no zone
}

Element submitted(std::initializer_list<std::pair<std::string, std::string>> fields) {
  Element x("x", muc::kDataForms);
  x.set_attr("type", "submit");
  for (const auto& [var, value] : fields) {
    Element& f = x.add_child("field", muc::kDataForms);
    f.set_attr("var", var);
    f.add_child("value", muc::kDataForms).add_text(value);
  }
  return x;
}

TEST(RoomConfigForm, EmptySubmissionKeepsTheDefaults) {
  muc::RoomConfig defaults;
  defaults.max_occupants = 100;
  auto config = muc::apply_config_form(submitted({}), defaults, 100);
  ASSERT_TRUE(config);
  EXPECT_EQ(*config, defaults);
}

TEST(RoomConfigForm, AppliesValuesAndRejectsBadOnes) {
  muc::RoomConfig defaults;
  defaults.max_occupants = 100;
  auto config = muc::apply_config_form(
      submitted({{"FORM_TYPE", muc::kRoomConfigFormType},
                 {"muc#roomconfig_roomname", "Tea"},
                 {"muc#roomconfig_persistentroom", "true"},
                 {"muc#roomconfig_membersonly", "1"},
                 {"muc#roomconfig_whois", "anyone"},
                 {"muc#roomconfig_maxusers", "20"},
                 {"x-unknown#field", "ignored"}}),
      defaults, 100);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->name, "Tea");
  EXPECT_TRUE(config->persistent);
  EXPECT_TRUE(config->members_only);
  EXPECT_TRUE(config->non_anonymous);
  EXPECT_EQ(config->max_occupants, 20);
  EXPECT_FALSE(config->moderated);

  EXPECT_FALSE(muc::apply_config_form(submitted({{"muc#roomconfig_maxusers", "101"}}), defaults, 100));
  EXPECT_FALSE(muc::apply_config_form(submitted({{"muc#roomconfig_maxusers", "0"}}), defaults, 100));
  EXPECT_FALSE(muc::apply_config_form(submitted({{"muc#roomconfig_moderatedroom", "yes"}}), defaults, 100));
  EXPECT_FALSE(muc::apply_config_form(submitted({{"muc#roomconfig_whois", "nobody"}}), defaults, 100));
  EXPECT_FALSE(muc::apply_config_form(submitted({{"FORM_TYPE", "urn:other"}}), defaults, 100));
  // A password-protected room needs a password.
  EXPECT_FALSE(muc::apply_config_form(submitted({{"muc#roomconfig_passwordprotectedroom", "1"}}), defaults, 100));
  EXPECT_TRUE(muc::apply_config_form(
      submitted({{"muc#roomconfig_passwordprotectedroom", "1"}, {"muc#roomconfig_roomsecret", "pw"}}), defaults, 100));
}

TEST(RoomConfigForm, PasswordAndProtectionStayConsistent) {
  muc::RoomConfig defaults;
  // A password alone protects the room, as clients that send only roomsecret expect.
  auto with_secret = muc::apply_config_form(submitted({{"muc#roomconfig_roomsecret", "pw"}}), defaults, 100);
  ASSERT_TRUE(with_secret);
  EXPECT_TRUE(with_secret->password_protected);
  EXPECT_EQ(with_secret->password, "pw");
  // Switching protection off removes the password, even one sent along.
  auto off = muc::apply_config_form(
      submitted({{"muc#roomconfig_passwordprotectedroom", "0"}, {"muc#roomconfig_roomsecret", "pw"}}), *with_secret, 100);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->password_protected);
  EXPECT_TRUE(off->password.empty());
}

TEST(RoomConfigForm, StoredSubmissionRoundTrips) {
  muc::RoomConfig c;
  c.name = "Name & <more>";
  c.description = "d";
  c.persistent = true;
  c.public_room = false;
  c.moderated = true;
  c.password_protected = true;
  c.password = "secret";
  c.non_anonymous = true;
  c.max_occupants = 42;
  c.occupants_change_subject = true;
  c.occupants_invite = true;
  c.member_list_roles = {"moderator", "participant"};
  std::string stored = muc::config_submission(c).str(muc::kDataForms);
  auto parsed = Element::parse(stored, muc::kDataForms);
  ASSERT_TRUE(parsed);
  auto back = muc::apply_config_form(*parsed, muc::RoomConfig{}, std::numeric_limits<std::int64_t>::max());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(Nickname, SpacesAtTheEndsGoAndRunsBecomeOne) {
  EXPECT_EQ(muc::nickname("Alice"), "Alice");
  EXPECT_EQ(muc::nickname("  Carol   Lewis "), "Carol Lewis");
  EXPECT_EQ(muc::nickname("   "), std::nullopt);  // no nick at all: jid-malformed
}

TEST(Nickname, ComparedCaseFoldedAndNormalized) {
  EXPECT_EQ(muc::nickname_key("Alice"), muc::nickname_key("aLiCe"));
  EXPECT_EQ(muc::nickname_key("\u00c6r\u00d8"), muc::nickname_key("\u00e6r\u00f8"));  // Ærø, ærø
  EXPECT_EQ(muc::nickname_key("\u0391\u03b8\u03b7\u03bd\u03ac"), muc::nickname_key("\u03b1\u03b8\u03b7\u03bd\u03ac"));  // Greek
  EXPECT_EQ(muc::nickname_key("\u212b"), muc::nickname_key("\u00e5"));  // Ångström sign: NFKC, then case
  EXPECT_NE(muc::nickname_key("Alice"), muc::nickname_key("Alicia"));
  EXPECT_NE(muc::nickname_key("\u00e6"), muc::nickname_key("ae"));
}

TEST(RoomConfigForm, WhoMayReadTheMemberListIsRolesOnly) {
  Element form("x", muc::kDataForms);
  Element& field = form.add_child("field", muc::kDataForms);
  field.set_attr("var", "muc#roomconfig_getmemberlist");
  field.add_child("value", muc::kDataForms).add_text("participant");
  field.add_child("value", muc::kDataForms).add_text("visitor");
  auto config = muc::apply_config_form(form, muc::RoomConfig{}, 100);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->member_list_roles, (std::set<std::string>{"participant", "visitor"}));
  field.add_child("value", muc::kDataForms).add_text("owner");  // an affiliation, not a role
  EXPECT_FALSE(muc::apply_config_form(form, muc::RoomConfig{}, 100));
}

TEST(RoomConfigForm, TheFormShowsCurrentValues) {
  muc::RoomConfig c;
  c.name = "Tea";
  c.max_occupants = 7;
  Element form = muc::config_form(c, 50);
  EXPECT_EQ(form.attr_or("type"), "form");
  std::string name, max;
  for (const Element& f : form.nodes()) {
    if (f.attr_or("var") == "muc#roomconfig_roomname") name = f.child_text("value", muc::kDataForms);
    if (f.attr_or("var") == "muc#roomconfig_maxusers") max = f.child_text("value", muc::kDataForms);
  }
  EXPECT_EQ(name, "Tea");
  EXPECT_EQ(max, "7");
}

}  // namespace

#include <xmppd/jid.hpp>

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace xmppd {
namespace {

// The parts of `text` parsed as a JID, "node|domain|resource", or "invalid".
std::string parts(std::string_view text) {
  auto j = Jid::parse(text);
  if (!j) return "invalid";
  return j->node() + '|' + j->domain() + '|' + j->resource();
}

// A syntactically valid domain of exactly `n` bytes: 49-letter labels.
std::string domain_of_length(std::size_t n) {
  std::string d(n, 'a');
  for (std::size_t i = 49; i + 1 < n; i += 50) d[i] = '.';
  return d;
}

// RFC 7622 §3.5, "Examples of valid JIDs". Where libidn's stringprep profiles (RFC 6122,
// which xmppd uses) differ from PRECIS, the stringprep result is expected and noted.
TEST(Jid, Rfc7622ValidExamples) {
  EXPECT_EQ(parts("juliet@example.com"), "juliet|example.com|");
  EXPECT_EQ(parts("juliet@example.com/foo"), "juliet|example.com|foo");
  EXPECT_EQ(parts("juliet@example.com/foo bar"), "juliet|example.com|foo bar");
  EXPECT_EQ(parts("juliet@example.com/foo@bar"), "juliet|example.com|foo@bar");
  EXPECT_EQ(parts("foo\\20bar@example.com"), "foo\\20bar|example.com|");
  EXPECT_EQ(parts("fussball@example.com"), "fussball|example.com|");
  EXPECT_EQ(parts("fu\xC3\x9F" "ball@example.com"), "fussball|example.com|");  // stringprep folds ß
  EXPECT_EQ(parts("\xCF\x80@example.com"), "\xCF\x80|example.com|");                   // π
  EXPECT_EQ(parts("\xCE\xA3@example.com/foo"), "\xCF\x83|example.com|foo");            // Σ → σ
  EXPECT_EQ(parts("\xCF\x83@example.com/foo"), "\xCF\x83|example.com|foo");            // σ
  EXPECT_EQ(parts("\xCF\x82@example.com/foo"), "\xCF\x83|example.com|foo");  // stringprep folds ς
  EXPECT_EQ(parts("king@example.com/\xE2\x99\x9A"), "king|example.com|\xE2\x99\x9A");  // ♚
  EXPECT_EQ(parts("example.com"), "|example.com|");
  EXPECT_EQ(parts("example.com/foobar"), "|example.com|foobar");
  EXPECT_EQ(parts("a.example.com/b@example.net"), "|a.example.com|b@example.net");
}

// RFC 7622 §3.5, "Examples of invalid JIDs" that stringprep also rejects.
TEST(Jid, Rfc7622InvalidExamples) {
  EXPECT_EQ(parts("\"juliet\"@example.com"), "invalid");  // '"' prohibited in a node
  EXPECT_EQ(parts("foo bar@example.com"), "invalid");     // space prohibited in a node
  EXPECT_EQ(parts("@example.com/"), "invalid");           // empty node and resource
  EXPECT_EQ(parts("juliet@"), "invalid");                 // empty domain
  EXPECT_EQ(parts("/foobar"), "invalid");                 // empty domain
}

TEST(Jid, SplitsAtTheFirstSlashThenTheFirstAt) {
  EXPECT_EQ(parts("a@b/c/d"), "a|b|c/d");
  EXPECT_EQ(parts("a@b/c@d/e"), "a|b|c@d/e");
  EXPECT_EQ(parts("b/c@d"), "|b|c@d");  // the '@' is in the resource: no node
  EXPECT_EQ(parts("a/b@example.com"), "|a|b@example.com");
  EXPECT_EQ(parts("a@b@example.com"), "invalid");  // the domain would be "b@example.com"
}

TEST(Jid, EmptyPartsAreInvalid) {
  EXPECT_EQ(parts(""), "invalid");
  EXPECT_EQ(parts("@"), "invalid");
  EXPECT_EQ(parts("/"), "invalid");
  EXPECT_EQ(parts("@example.com"), "invalid");
  EXPECT_EQ(parts("juliet@example.com/"), "invalid");
  EXPECT_EQ(parts("juliet@/r"), "invalid");
  EXPECT_EQ(parts("example.com/"), "invalid");
}

TEST(Jid, CaseFoldsNodeAndDomainButNotResource) {
  EXPECT_EQ(parts("JuLiEt@EXAMPLE.Com/BalCony"), "juliet|example.com|BalCony");
  auto a = Jid::parse("Juliet@Example.com/Phone");
  auto b = Jid::parse("juliet@example.com/Phone");
  auto c = Jid::parse("juliet@example.com/phone");
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*b, *c);
}

TEST(Jid, NonAsciiGoesThroughStringprep) {
  EXPECT_EQ(parts("\xC3\x84@example.com"), "\xC3\xA4|example.com|");  // Ä → ä
  EXPECT_EQ(Jid::parse("\xC3\x84@example.com")->str(), "\xC3\xA4@example.com");
  EXPECT_EQ(parts("juliet@EX\xC3\x84MPLE.com"), "juliet|ex\xC3\xA4mple.com|");  // nameprep
  EXPECT_EQ(parts("juliet@example.com/\xC3\x84"), "juliet|example.com|\xC3\x84");  // resourceprep keeps case
  EXPECT_EQ(parts("a\xC2\xA0" "b@example.com"), "invalid");  // non-ASCII space prohibited in a node
  EXPECT_EQ(parts("\xFF@example.com"), "invalid");           // not UTF-8
  EXPECT_EQ(parts("juliet@example.com/\xFF"), "invalid");
}

TEST(Jid, ProhibitedNodeCharacters) {
  for (char c : std::string("\"&'/:<>@ \x01\x7f")) {
    std::string node = std::string("ju") + c + "liet";
    EXPECT_EQ(Jid::nodeprep(node), std::nullopt) << int(c);
  }
  EXPECT_EQ(parts("ju&liet@example.com"), "invalid");
  EXPECT_EQ(parts("ju'liet@example.com"), "invalid");
  EXPECT_EQ(parts("ju:liet@example.com"), "invalid");
  EXPECT_EQ(parts("ju<liet>@example.com"), "invalid");
  EXPECT_EQ(Jid::nodeprep("ju.li-et_+=!#$%*"), "ju.li-et_+=!#$%*");
}

TEST(Jid, ControlCharactersInResourceAreInvalid) {
  EXPECT_EQ(parts("juliet@example.com/a\x01" "b"), "invalid");
  EXPECT_EQ(parts("juliet@example.com/a\x7f"), "invalid");
  EXPECT_EQ(parts(std::string("juliet@example.com/a\0b", 22)), "invalid");
}

TEST(Jid, PartsOf1024BytesAreRejected) {
  const std::string ok(1023, 'a'), too_long(1024, 'a');
  EXPECT_EQ(parts(ok + "@example.com"), ok + "|example.com|");
  EXPECT_EQ(parts(too_long + "@example.com"), "invalid");
  EXPECT_EQ(parts("juliet@example.com/" + ok), "juliet|example.com|" + ok);
  EXPECT_EQ(parts("juliet@example.com/" + too_long), "invalid");
  EXPECT_EQ(parts("juliet@" + domain_of_length(1023)), "juliet|" + domain_of_length(1023) + "|");
  EXPECT_EQ(parts("juliet@" + domain_of_length(1024)), "invalid");
  // Non-ASCII: the limit is on bytes, not characters (512 × "ä" = 1024 bytes).
  std::string umlauts;
  for (int i = 0; i < 512; ++i) umlauts += "\xC3\xA4";
  EXPECT_EQ(parts(umlauts + "@example.com"), "invalid");
  EXPECT_EQ(parts("juliet@example.com/" + umlauts), "invalid");
}

TEST(Jid, TrailingDotOfTheDomainIsStripped) {
  EXPECT_EQ(parts("juliet@example.com."), "juliet|example.com|");
  EXPECT_EQ(parts("example.com./r"), "|example.com|r");
  EXPECT_EQ(*Jid::parse("juliet@example.com."), *Jid::parse("juliet@example.com"));
  EXPECT_EQ(parts("juliet@example.com.."), "invalid");
  EXPECT_EQ(parts("juliet@."), "invalid");
}

TEST(Jid, DomainSyntax) {
  EXPECT_EQ(parts("localhost"), "|localhost|");
  EXPECT_EQ(parts("a-b.example.com"), "|a-b.example.com|");
  EXPECT_EQ(parts("-a.example.com"), "invalid");
  EXPECT_EQ(parts("a-.example.com"), "invalid");
  EXPECT_EQ(parts("a..example.com"), "invalid");
  EXPECT_EQ(parts(".example.com"), "invalid");
  EXPECT_EQ(parts("exa mple.com"), "invalid");
  EXPECT_EQ(parts(std::string(63, 'a') + ".com"), "|" + std::string(63, 'a') + ".com|");
  EXPECT_EQ(parts(std::string(64, 'a') + ".com"), "invalid");  // label longer than 63
}

TEST(Jid, IpLiteralDomains) {
  EXPECT_EQ(parts("juliet@192.0.2.1/r"), "juliet|192.0.2.1|r");
  EXPECT_EQ(parts("juliet@[2001:DB8::1]/r"), "juliet|[2001:db8::1]|r");
  EXPECT_EQ(parts("[::1]"), "|[::1]|");
  EXPECT_EQ(parts("juliet@[::ffff:192.0.2.1]"), "juliet|[::ffff:192.0.2.1]|");
  EXPECT_EQ(parts("juliet@[::1"), "invalid");
  EXPECT_EQ(parts("juliet@[]"), "invalid");
  EXPECT_EQ(parts("juliet@[:]"), "invalid");
  EXPECT_EQ(parts("juliet@[1::2::3]"), "invalid");
  EXPECT_EQ(parts("juliet@[192.0.2.1]"), "invalid");  // IPv4 goes without brackets
  EXPECT_EQ(parts("juliet@[example.com]"), "invalid");
}

TEST(Jid, MakeNormalizesEachPart) {
  auto j = Jid::make("Juliet", "Example.COM.", "Balcony");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->str(), "juliet@example.com/Balcony");
  EXPECT_EQ(Jid::make("", "example.com")->str(), "example.com");
  EXPECT_EQ(Jid::make("a b", "example.com"), std::nullopt);
  EXPECT_EQ(Jid::make("juliet", ""), std::nullopt);
}

TEST(Jid, BareFullAndStrings) {
  auto full = *Jid::parse("juliet@example.com/balcony");
  EXPECT_FALSE(full.is_bare());
  EXPECT_FALSE(full.empty());
  EXPECT_EQ(full.str(), "juliet@example.com/balcony");
  EXPECT_EQ(full.bare_str(), "juliet@example.com");
  Jid bare = full.bare();
  EXPECT_TRUE(bare.is_bare());
  EXPECT_EQ(bare.str(), "juliet@example.com");
  EXPECT_EQ(bare.with_resource("balcony"), full);
  EXPECT_EQ(Jid::parse("example.com/r")->bare_str(), "example.com");
  EXPECT_TRUE(Jid().empty());

  std::unordered_set<Jid> set{full, bare, *Jid::parse("Juliet@Example.com/balcony")};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace xmppd

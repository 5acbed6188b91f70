#include <gtest/gtest.h>

#include "auth/auth_throttle.hpp"
#include "auth/sasl_server.hpp"
#include "auth/scram.hpp"

namespace xmppd::auth {
namespace {

using namespace std::chrono_literals;

TEST(PeekUsername, ScramClientFirstMessage) {
  EXPECT_EQ(peek_username("SCRAM-SHA-1", "n,,n=Alice,r=abc", "localhost"), "alice");
  EXPECT_EQ(peek_username("SCRAM-SHA-256", "y,a=alice@localhost,n=alice,r=x", "localhost"), "alice");
  // saslname escapes; ',' is not allowed in a node, '=' is
  EXPECT_EQ(peek_username("SCRAM-SHA-1", "n,,n=a=3Db,r=x", "localhost"), "a=b");
  EXPECT_EQ(peek_username("SCRAM-SHA-1", "n,,n=a=2Cb,r=x", "localhost"), "a,b");
  EXPECT_EQ(peek_username("SCRAM-SHA-1", "n,,n=a=ZZb,r=x", "localhost"), std::nullopt);
  EXPECT_EQ(peek_username("SCRAM-SHA-1", "garbage", "localhost"), std::nullopt);
}

TEST(PeekUsername, PlainAuthcidWithOptionalDomain) {
  EXPECT_EQ(peek_username("PLAIN", std::string("\0bob\0pw", 7), "localhost"), "bob");
  EXPECT_EQ(peek_username("PLAIN", std::string("\0bob@localhost\0pw", 17), "localhost"), "bob");
  EXPECT_EQ(peek_username("PLAIN", std::string("\0bob@other\0pw", 13), "localhost"), std::nullopt);
  EXPECT_EQ(peek_username("PLAIN", "no-separators", "localhost"), std::nullopt);
}

// Cyrus runs the real SCRAM-SHA-256 server exchange here against secrets we provide;
// this checks the glue (auxprop plugin, secret format) without a network.
TEST(SaslExchange, PlainChecksPasswordAgainstScramSecret) {
  init_sasl({"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"});
  storage::Secrets secrets{make_secret("SCRAM-SHA-256", "pencil", 4096)};
  {
    SaslExchange ex("localhost", /*secure=*/true);
    ex.provide_secrets("user", secrets);
    auto step = ex.start("PLAIN", std::string_view("\0user\0pencil", 12));
    EXPECT_EQ(step.kind, SaslExchange::Step::success);
    EXPECT_EQ(ex.username(), "user");
  }
  {
    SaslExchange ex("localhost", true);
    ex.provide_secrets("user", secrets);
    auto step = ex.start("PLAIN", std::string_view("\0user\0pen", 9));
    EXPECT_EQ(step.kind, SaslExchange::Step::failure);
    EXPECT_EQ(step.condition, "not-authorized");
  }
}

TEST(SaslExchange, PlainIsNotOfferedWithoutTls) {
  init_sasl({"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"});
  SaslExchange insecure("localhost", false);
  auto mechs = insecure.mechanisms();
  EXPECT_EQ(std::find(mechs.begin(), mechs.end(), "PLAIN"), mechs.end());
  EXPECT_NE(std::find(mechs.begin(), mechs.end(), "SCRAM-SHA-1"), mechs.end());
}

TEST(SaslExchange, ScramChallengeCarriesStoredSaltAndIterations) {
  init_sasl({"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"});
  auto secret = make_secret("SCRAM-SHA-1", "pencil", 4321);
  SaslExchange ex("localhost", true);
  ex.provide_secrets("user", storage::Secrets{secret});
  auto step = ex.start("SCRAM-SHA-1", std::string_view("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"));
  ASSERT_EQ(step.kind, SaslExchange::Step::challenge) << step.condition;
  EXPECT_NE(step.data.find("s=" + base64_encode(secret.salt)), std::string::npos) << step.data;
  EXPECT_NE(step.data.find(",i=4321"), std::string::npos) << step.data;
  EXPECT_TRUE(step.data.starts_with("r=fyko+d2lbbFgONRv9qkxdawL")) << step.data;
}

TEST(SaslExchange, UnknownUserFails) {
  init_sasl({"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"});
  SaslExchange ex("localhost", true);
  ex.provide_secrets("ghost", std::nullopt);
  auto step = ex.start("SCRAM-SHA-256", std::string_view("n,,n=ghost,r=abcdef"));
  EXPECT_EQ(step.kind, SaslExchange::Step::failure);
  EXPECT_EQ(step.condition, "not-authorized");
}

TEST(AuthThrottle, BlocksAfterMaxFailuresWithinWindow) {
  AuthThrottle t(3, 60s);
  auto now = AuthThrottle::Clock::now();
  EXPECT_FALSE(t.blocked("1.2.3.4", now));
  t.failed("1.2.3.4", now);
  t.failed("1.2.3.4", now + 1s);
  EXPECT_FALSE(t.blocked("1.2.3.4", now + 2s));
  t.failed("1.2.3.4", now + 2s);
  EXPECT_TRUE(t.blocked("1.2.3.4", now + 3s));
  EXPECT_FALSE(t.blocked("5.6.7.8", now + 3s));  // other addresses unaffected
  EXPECT_FALSE(t.blocked("1.2.3.4", now + 61s));  // the window passed
}

TEST(AuthThrottle, SuccessClearsTheRecord) {
  AuthThrottle t(2, 60s);
  t.failed("ip");
  t.succeeded("ip");
  t.failed("ip");
  EXPECT_FALSE(t.blocked("ip"));
}

}  // namespace
}  // namespace xmppd::auth

#include "auth/scram.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>
#include <string>

namespace xmppd::auth {
namespace {

// ---- RFC test vectors ----
//
// The RFCs give a whole exchange, not the stored keys. The expected keys below were computed
// with another implementation (Python's hashlib); the first test proves them against the
// RFCs' ClientProof and ServerSignature, the others prove our derivation yields them.

struct Vector {
  const char* mechanism;
  const EVP_MD* (*md)();
  const char* salt_b64;
  const char* auth_message;
  const char* client_proof_b64;
  const char* server_signature_b64;
  const char* stored_key_b64;
  const char* server_key_b64;
};

// RFC 5802 §5 (user "user", password "pencil", i=4096).
const Vector kRfc5802 = {
    "SCRAM-SHA-1", EVP_sha1, "QSXCR+Q6sek8bf92",
    "n=user,r=fyko+d2lbbFgONRv9qkxdawL,"
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,"
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j",
    "v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", "rmF9pqV8S7suAoZWja4dJRkFsKQ=",
    "6dlGYMOdZcOPutkcNY8U2g7vK9Y=", "D+CSWLOshSulAsxiupA+qs2/fTE="};

// RFC 7677 §3 (user "user", password "pencil", i=4096).
const Vector kRfc7677 = {
    "SCRAM-SHA-256", EVP_sha256, "W22ZaJ0SNY7soEsUEjb6gQ==",
    "n=user,r=rOprNGfwEbeRWgbNEkqO,"
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,"
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=", "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="};

std::string decode(const char* b64) {
  auto raw = base64_decode(b64);
  if (!raw) throw std::invalid_argument(b64);
  return *raw;
}

std::string test_hmac(const EVP_MD* md, const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(md, key.data(), int(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string test_hash(const EVP_MD* md, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string auth_password_of(const Vector& v) {
  return std::string(v.mechanism) + "$4096:" + v.salt_b64 + "$" + v.stored_key_b64 + ":" +
         v.server_key_b64;
}

class ScramVector : public ::testing::TestWithParam<Vector> {};

// RFC 5802 §3: the server checks H(ClientProof XOR HMAC(StoredKey, AuthMessage)) == StoredKey
// and answers HMAC(ServerKey, AuthMessage); both hold only for the right keys.
TEST_P(ScramVector, ExpectedKeysCompleteTheRfcExchange) {
  const Vector& v = GetParam();
  const EVP_MD* md = v.md();
  std::string stored_key = decode(v.stored_key_b64);
  std::string server_key = decode(v.server_key_b64);
  std::string client_signature = test_hmac(md, stored_key, v.auth_message);
  std::string client_key = decode(v.client_proof_b64);
  ASSERT_EQ(client_key.size(), client_signature.size());
  for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= client_signature[i];
  EXPECT_EQ(test_hash(md, client_key), stored_key);
  EXPECT_EQ(test_hmac(md, server_key, v.auth_message), decode(v.server_signature_b64));
}

TEST_P(ScramVector, VerifyPasswordDerivesTheRfcKeys) {
  const Vector& v = GetParam();
  ScramSecret secret{v.mechanism, 4096, decode(v.salt_b64), decode(v.stored_key_b64),
                     decode(v.server_key_b64)};
  EXPECT_TRUE(verify_password(secret, "pencil"));
  EXPECT_FALSE(verify_password(secret, "Pencil"));
  EXPECT_FALSE(verify_password(secret, "pencil "));
  EXPECT_FALSE(verify_password(secret, ""));
  secret.iterations = 4095;
  EXPECT_FALSE(verify_password(secret, "pencil"));
}

TEST_P(ScramVector, AuthPasswordRoundTripsInCyrusFormat) {
  const Vector& v = GetParam();
  auto parsed = from_auth_password(auth_password_of(v));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->mechanism, v.mechanism);
  EXPECT_EQ(parsed->iterations, 4096u);
  EXPECT_EQ(parsed->salt, decode(v.salt_b64));
  EXPECT_EQ(parsed->stored_key, decode(v.stored_key_b64));
  EXPECT_EQ(parsed->server_key, decode(v.server_key_b64));
  EXPECT_EQ(to_auth_password(*parsed), auth_password_of(v));
  EXPECT_TRUE(verify_password(*parsed, "pencil"));
}

INSTANTIATE_TEST_SUITE_P(Rfc, ScramVector, ::testing::Values(kRfc5802, kRfc7677),
                         [](const auto& info) {
                           return std::string(info.param.md == EVP_sha1 ? "Sha1" : "Sha256");
                         });

TEST(AuthPassword, ExactFormat) {
  ScramSecret s{"SCRAM-SHA-256", 4096, "salt", std::string(32, '\x01'), std::string(32, '\x02')};
  EXPECT_EQ(to_auth_password(s),
            "SCRAM-SHA-256$4096:c2FsdA==$AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=:"
            "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=");
}

TEST(AuthPassword, RejectsMalformedText) {
  const std::string good = auth_password_of(kRfc5802);
  ASSERT_TRUE(from_auth_password(good));
  EXPECT_FALSE(from_auth_password(""));
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1"));
  EXPECT_FALSE(from_auth_password("SCRAM-MD5$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
                                  "D+CSWLOshSulAsxiupA+qs2/fTE="));
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1$0:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
                                  "D+CSWLOshSulAsxiupA+qs2/fTE="));
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1$-1:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
                                  "D+CSWLOshSulAsxiupA+qs2/fTE="));
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1$99999999999:QSXCR+Q6sek8bf92$"
                                  "6dlGYMOdZcOPutkcNY8U2g7vK9Y=:D+CSWLOshSulAsxiupA+qs2/fTE="));
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1$4096:$6dlGYMOdZcOPutkcNY8U2g7vK9Y=:"
                                  "D+CSWLOshSulAsxiupA+qs2/fTE="));  // empty salt
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$6dlGYMOdZcOPutkcNY8U2g7vK9Y="));
  EXPECT_FALSE(from_auth_password("SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$!!!!:D+CSWLOshSulAsxiupA+qs2/fTE="));
  // A SHA-256-sized key under SHA-1.
  EXPECT_FALSE(from_auth_password(std::string("SCRAM-SHA-1$4096:QSXCR+Q6sek8bf92$") +
                                  kRfc7677.stored_key_b64 + ":" + kRfc7677.server_key_b64));
}

// ---- make_secret ----

TEST(MakeSecret, FreshSaltAndKeysOfTheMechanismsSize) {
  auto a = make_secret("SCRAM-SHA-256", "pencil", 4096);
  auto b = make_secret("SCRAM-SHA-256", "pencil", 4096);
  EXPECT_EQ(a.mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(a.iterations, 4096u);
  EXPECT_EQ(a.salt.size(), 16u);
  EXPECT_EQ(a.stored_key.size(), 32u);
  EXPECT_EQ(a.server_key.size(), 32u);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.stored_key, b.stored_key);

  auto sha1 = make_secret("SCRAM-SHA-1", "pencil", 4321);
  EXPECT_EQ(sha1.iterations, 4321u);
  EXPECT_EQ(sha1.stored_key.size(), 20u);
  EXPECT_EQ(sha1.server_key.size(), 20u);
}

TEST(MakeSecret, VerifiesOnlyItsOwnPassword) {
  for (const char* mechanism : {"SCRAM-SHA-1", "SCRAM-SHA-256"}) {
    auto s = make_secret(mechanism, "correct horse", 4096);
    EXPECT_TRUE(verify_password(s, "correct horse")) << mechanism;
    EXPECT_FALSE(verify_password(s, "correct horse!")) << mechanism;
    EXPECT_FALSE(verify_password(s, "Correct horse")) << mechanism;
  }
}

TEST(MakeSecret, PasswordIsSaslpreppedOnBothSides) {
  // U+00AD SOFT HYPHEN maps to nothing, U+2168 ROMAN NUMERAL NINE to "IX".
  auto s = make_secret("SCRAM-SHA-256", "I\xC2\xADX", 4096);
  EXPECT_TRUE(verify_password(s, "IX"));
  EXPECT_TRUE(verify_password(s, "\xE2\x85\xA8"));
  EXPECT_FALSE(verify_password(s, "ix"));
}

TEST(MakeSecret, RejectsUnknownMechanismAndProhibitedPassword) {
  EXPECT_THROW(make_secret("SCRAM-SHA-512", "pencil", 4096), std::invalid_argument);
  EXPECT_THROW(make_secret("PLAIN", "pencil", 4096), std::invalid_argument);
  EXPECT_THROW(make_secret("SCRAM-SHA-256", "bell\x07", 4096), std::invalid_argument);
  EXPECT_THROW(make_secret("SCRAM-SHA-256", "pencil", 0), std::invalid_argument);
}

TEST(VerifyPassword, FalseForUnusableSecrets) {
  auto s = make_secret("SCRAM-SHA-1", "pencil", 4096);
  auto unknown = s;
  unknown.mechanism = "SCRAM-SHA-512";
  EXPECT_FALSE(verify_password(unknown, "pencil"));
  auto truncated = s;
  truncated.stored_key.pop_back();
  EXPECT_FALSE(verify_password(truncated, "pencil"));
  auto tampered = s;
  tampered.server_key[0] ^= 1;
  EXPECT_FALSE(verify_password(tampered, "pencil"));
  EXPECT_FALSE(verify_password(s, "bell\x07"));
}

// ---- SASLprep (RFC 4013 §3 examples) ----

TEST(Saslprep, Rfc4013Examples) {
  EXPECT_EQ(saslprep("I\xC2\xADX"), "IX");      // SOFT HYPHEN mapped to nothing
  EXPECT_EQ(saslprep("user"), "user");          // no transformation
  EXPECT_EQ(saslprep("USER"), "USER");          // case preserved
  EXPECT_EQ(saslprep("\xC2\xAA"), "a");         // NFKC: FEMININE ORDINAL INDICATOR
  EXPECT_EQ(saslprep("\xE2\x85\xA8"), "IX");    // NFKC: ROMAN NUMERAL NINE
  EXPECT_EQ(saslprep("\x07"), std::nullopt);    // prohibited control character
  EXPECT_EQ(saslprep("\xD8\xA7" "1"), std::nullopt);  // bidi check fails
}

TEST(Saslprep, PrintableAsciiUnchangedControlsRejected) {
  std::string printable;
  for (char c = 0x20; c < 0x7f; ++c) printable.push_back(c);
  EXPECT_EQ(saslprep(printable), printable);
  EXPECT_EQ(saslprep(""), "");
  EXPECT_EQ(saslprep("tab\there"), std::nullopt);
  EXPECT_EQ(saslprep("del\x7f"), std::nullopt);
  EXPECT_EQ(saslprep(std::string("nul\0x", 5)), std::nullopt);
}

TEST(Saslprep, NonAsciiSpaceMappedAndBadUtf8Rejected) {
  EXPECT_EQ(saslprep("a\xC2\xA0" "b"), "a b");  // NO-BREAK SPACE → SPACE
  EXPECT_EQ(saslprep("\xC3\xA9\x07"), std::nullopt);  // control after non-ASCII
  EXPECT_EQ(saslprep("\xFF"), std::nullopt);
  EXPECT_EQ(saslprep(std::string("\xC3\xA9\0", 3)), std::nullopt);
}

// ---- base64 ----

TEST(Base64, Rfc4648VectorsCoverEveryPaddingLength) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},          {"f", "Zg=="},         {"fo", "Zm8="},        {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (auto [raw, encoded] : vectors) {
    EXPECT_EQ(base64_encode(raw), encoded);
    EXPECT_EQ(base64_decode(encoded), raw) << encoded;
  }
}

TEST(Base64, BinaryRoundTripsAtEveryLength) {
  std::string raw;
  for (int n = 0; n < 64; ++n) {
    auto decoded = base64_decode(base64_encode(raw));
    ASSERT_TRUE(decoded) << n;
    EXPECT_EQ(*decoded, raw) << n;  // exact length: no padding bytes left over
    raw.push_back(char((n * 37) ^ 0x80));
    if (n % 5 == 0) raw.back() = '\0';
  }
}

TEST(Base64, RejectsInvalidInput) {
  for (const char* bad : {"Zg", "Zg=", "Zm9vY", "Z===", "====", "Zg==Zg==", "=Zm9", "Zm=v",
                          "Zm9v====", "Zm*v", "Zm9v\n", " Zm9v", "Zm9v ", "Zm 9v", "Zm-_"}) {
    EXPECT_EQ(base64_decode(bad), std::nullopt) << '"' << bad << '"';
  }
}

}  // namespace
}  // namespace xmppd::auth

#include "auth/scram.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stringprep.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <stdexcept>

namespace xmppd::auth {
namespace {

constexpr std::size_t kSaltBytes = 16;

const unsigned char* bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The hash a SCRAM mechanism is built on; nullptr for an unknown mechanism.
const EVP_MD* digest_of(std::string_view mechanism) {
  if (mechanism == "SCRAM-SHA-1") return EVP_sha1();
  if (mechanism == "SCRAM-SHA-256") return EVP_sha256();
  return nullptr;
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!HMAC(md, key.data(), int(key.size()), bytes(data), data.size(), out, &len))
    throw std::runtime_error("HMAC failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (!EVP_Digest(data.data(), data.size(), out, &len, md, nullptr))
    throw std::runtime_error("digest failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

struct Keys {
  std::string stored_key;
  std::string server_key;
};

// RFC 5802 §3, from an already SASLprep'ed password.
Keys derive(const EVP_MD* md, std::string_view prepared, std::string_view salt,
            unsigned iterations) {
  std::string salted(EVP_MD_get_size(md), '\0');
  if (!PKCS5_PBKDF2_HMAC(prepared.data(), int(prepared.size()), bytes(salt), int(salt.size()),
                         int(iterations), md, int(salted.size()),
                         reinterpret_cast<unsigned char*>(salted.data())))
    throw std::runtime_error("PBKDF2 failed");
  Keys keys{hash(md, hmac(md, salted, "Client Key")), hmac(md, salted, "Server Key")};
  OPENSSL_cleanse(salted.data(), salted.size());
  return keys;
}

bool is_base64_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

// "<digits>" that fits an unsigned and is not zero.
std::optional<unsigned> parse_iterations(std::string_view s) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value == 0)
    return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> saslprep(std::string_view password) {
  bool ascii = std::all_of(password.begin(), password.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    // Printable ASCII is unchanged by SASLprep; ASCII controls are prohibited (RFC 4013 §2.3).
    bool printable = std::all_of(password.begin(), password.end(),
                                 [](char c) { return c >= 0x20 && c != 0x7f; });
    if (!printable) return std::nullopt;
    return std::string(password);
  }
  std::string copy(password);  // stringprep_profile wants a NUL-terminated string
  if (copy.find('\0') != std::string::npos) return std::nullopt;
  char* out = nullptr;
  int rc = stringprep_profile(copy.c_str(), &out, "SASLprep", Stringprep_profile_flags(0));
  OPENSSL_cleanse(copy.data(), copy.size());
  if (rc != STRINGPREP_OK) {
    std::free(out);
    return std::nullopt;
  }
  std::string result(out);
  OPENSSL_cleanse(out, result.size());
  std::free(out);
  return result;
}

ScramSecret make_secret(std::string_view mechanism, std::string_view password,
                        unsigned iterations) {
  const EVP_MD* md = digest_of(mechanism);
  if (!md) throw std::invalid_argument("unknown SCRAM mechanism: " + std::string(mechanism));
  if (iterations == 0) throw std::invalid_argument("SCRAM iterations must be positive");
  auto prepared = saslprep(password);
  if (!prepared) throw std::invalid_argument("password contains characters SASLprep prohibits");

  ScramSecret s;
  s.mechanism = std::string(mechanism);
  s.iterations = iterations;
  s.salt.resize(kSaltBytes);
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.salt.data()), int(kSaltBytes)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  Keys keys = derive(md, *prepared, s.salt, iterations);
  OPENSSL_cleanse(prepared->data(), prepared->size());
  s.stored_key = std::move(keys.stored_key);
  s.server_key = std::move(keys.server_key);
  return s;
}

std::optional<std::vector<ScramSecret>> make_secrets(std::string_view password, unsigned iterations) {
  if (password.empty()) return std::nullopt;
  std::vector<ScramSecret> secrets;
  try {
    for (const char* mechanism : {"SCRAM-SHA-1", "SCRAM-SHA-256"})
      secrets.push_back(make_secret(mechanism, password, iterations));
  } catch (const std::invalid_argument&) {
    return std::nullopt;  // SASLprep refused it
  }
  return secrets;
}

bool verify_password(const ScramSecret& secret, std::string_view password) {
  const EVP_MD* md = digest_of(secret.mechanism);
  if (!md || secret.iterations == 0) return false;
  auto prepared = saslprep(password);
  if (!prepared) return false;
  Keys keys = derive(md, *prepared, secret.salt, secret.iterations);
  OPENSSL_cleanse(prepared->data(), prepared->size());
  if (keys.stored_key.size() != secret.stored_key.size() ||
      keys.server_key.size() != secret.server_key.size())
    return false;
  // Both keys, without short-circuit, so the time taken says nothing about which differed.
  int diff = CRYPTO_memcmp(keys.stored_key.data(), secret.stored_key.data(), keys.stored_key.size()) |
             CRYPTO_memcmp(keys.server_key.data(), secret.server_key.data(), keys.server_key.size());
  return diff == 0;
}

std::string to_auth_password(const ScramSecret& secret) {
  return secret.mechanism + '$' + std::to_string(secret.iterations) + ':' +
         base64_encode(secret.salt) + '$' + base64_encode(secret.stored_key) + ':' +
         base64_encode(secret.server_key);
}

std::optional<ScramSecret> from_auth_password(std::string_view text) {
  // MECH '$' iterations ':' salt '$' stored_key ':' server_key
  auto dollar1 = text.find('$');
  if (dollar1 == std::string_view::npos) return std::nullopt;
  auto colon1 = text.find(':', dollar1 + 1);
  if (colon1 == std::string_view::npos) return std::nullopt;
  auto dollar2 = text.find('$', colon1 + 1);
  if (dollar2 == std::string_view::npos) return std::nullopt;
  auto colon2 = text.find(':', dollar2 + 1);
  if (colon2 == std::string_view::npos) return std::nullopt;

  ScramSecret s;
  s.mechanism = std::string(text.substr(0, dollar1));
  const EVP_MD* md = digest_of(s.mechanism);
  if (!md) return std::nullopt;
  auto iterations = parse_iterations(text.substr(dollar1 + 1, colon1 - dollar1 - 1));
  auto salt = base64_decode(text.substr(colon1 + 1, dollar2 - colon1 - 1));
  auto stored = base64_decode(text.substr(dollar2 + 1, colon2 - dollar2 - 1));
  auto server = base64_decode(text.substr(colon2 + 1));
  auto size = std::size_t(EVP_MD_get_size(md));
  if (!iterations || !salt || salt->empty() || !stored || stored->size() != size || !server ||
      server->size() != size)
    return std::nullopt;
  s.iterations = *iterations;
  s.salt = std::move(*salt);
  s.stored_key = std::move(*stored);
  s.server_key = std::move(*server);
  return s;
}

std::string base64_encode(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');  // EVP_EncodeBlock adds a NUL
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(raw), int(raw.size()));
  out.resize(std::size_t(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  // EVP_DecodeBlock skips surrounding whitespace and counts padding as zero bytes, so
  // validate the strict form here first: whole quads, alphabet only, '=' only at the end.
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=')
    ++padding;
  if (!std::all_of(text.begin(), text.end() - std::ptrdiff_t(padding), is_base64_char))
    return std::nullopt;
  if (text.empty()) return std::string();

  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes(text), int(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(std::size_t(n) - padding);
  return out;
}

}  // namespace xmppd::auth

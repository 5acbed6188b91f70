// SCRAM-SHA-1 client (RFC 5802) for the load generator, on OpenSSL.
//
// The expensive part of SCRAM is PBKDF2 (SaltedPassword). The server's salt and iteration
// count are fixed per account, so the generator keeps the derived keys per user in a cache
// (optionally persisted to a file) and every later login costs only two HMACs and a hash.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace bench {

using Digest = std::array<unsigned char, 20>;  // SHA-1

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in);

// Keys derived from the password for one (salt, iterations) pair.
struct ScramKeys {
  std::string salt_b64;
  int iterations = 0;
  Digest client_key{};
  Digest stored_key{};
  Digest server_key{};
};

class ScramCache {
 public:
  // Keys for `user`, derived now (PBKDF2) if the cache has none for this salt/iteration count.
  const ScramKeys& keys(const std::string& user, std::string_view password, std::string_view salt_b64,
                        int iterations);
  bool load(const std::string& path);
  bool save(const std::string& path) const;
  std::uint64_t derivations() const { return derivations_; }
  bool dirty() const { return dirty_; }

 private:
  std::unordered_map<std::string, ScramKeys> map_;
  std::uint64_t derivations_ = 0;
  bool dirty_ = false;
};

// One SCRAM-SHA-1 exchange.
class ScramClient {
 public:
  ScramClient(std::string user, std::string password, std::string cnonce);
  // gs2 header + client-first-message-bare, ready for base64.
  std::string client_first() const;
  // Handles server-first; returns client-final, or nullopt on a malformed/invalid message.
  std::optional<std::string> client_final(std::string_view server_first, ScramCache& cache);
  // Checks the server's signature in server-final ("v=...").
  bool verify_server_final(std::string_view server_final) const;

 private:
  std::string user_, password_, cnonce_, first_bare_;
  Digest server_signature_{};
};

}  // namespace bench

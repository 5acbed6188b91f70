// SCRAM secrets (RFC 5802, RFC 7677): what the server stores instead of a password.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace xmppd::auth {

struct ScramSecret {
  std::string mechanism;  // "SCRAM-SHA-1" or "SCRAM-SHA-256"
  unsigned iterations = 0;
  std::string salt;        // raw bytes
  std::string stored_key;  // raw H(ClientKey)
  std::string server_key;  // raw HMAC(SaltedPassword, "Server Key")

  friend bool operator==(const ScramSecret&, const ScramSecret&) = default;
};

// SASLprep (RFC 4013) of a password; nullopt if it contains prohibited characters.
std::optional<std::string> saslprep(std::string_view password);

// A fresh secret with a random 16-byte salt. Throws std::invalid_argument for an unknown
// mechanism or a password SASLprep rejects.
ScramSecret make_secret(std::string_view mechanism, std::string_view password,
                        unsigned iterations);
// What the server stores for a password: one secret per SCRAM mechanism (SHA-1, SHA-256).
// nullopt for an empty password or one SASLprep rejects.
std::optional<std::vector<ScramSecret>> make_secrets(std::string_view password, unsigned iterations);

// Whether `password` is the one `secret` was made from (for SASL PLAIN). Constant-time compare.
bool verify_password(const ScramSecret& secret, std::string_view password);

// RFC 3112 authPassword form, as Cyrus SASL's SCRAM plugin reads it:
// "SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>".
std::string to_auth_password(const ScramSecret& secret);
std::optional<ScramSecret> from_auth_password(std::string_view text);

std::string base64_encode(std::string_view raw);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace xmppd::auth

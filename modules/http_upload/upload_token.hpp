// The right to upload one file, as a PUT URL carries it: which slot, what file, whose, until
// when, signed with HMAC-SHA256 under the module's secret. Nothing is stored per slot, so a
// slot handed out before a restart still works after it (the secret persists).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace http_upload {

struct UploadGrant {
  std::string id;  // the slot: 32 hex digits
  std::string filename;
  std::uint64_t size = 0;
  std::string content_type;
  std::string owner;         // bare JID of the uploader (for the quota)
  std::int64_t expires = 0;  // Unix time after which the PUT URL is refused
};

class UploadSigner {
 public:
  explicit UploadSigner(std::string secret) : secret_(std::move(secret)) {}

  // Hex HMAC-SHA256 over every field of the grant.
  std::string sign(const UploadGrant& grant) const;
  // Compared in constant time.
  bool verify(const UploadGrant& grant, std::string_view token) const;

 private:
  std::string secret_;
};

// `bytes` random bytes from OpenSSL's CSPRNG, hex-encoded.
std::string random_hex(std::size_t bytes);

// The secret kept in `file`: created (256 random bits, mode 0600) the first time.
std::string load_or_create_secret(const std::filesystem::path& file);

}  // namespace http_upload

#include "upload_token.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <fcntl.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <vector>

namespace http_upload {

namespace {

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kHex[data[i] >> 4];
    out += kHex[data[i] & 15];
  }
  return out;
}

// Fields joined by '\n', which none of them may contain (filenames and content types are
// checked for control characters before a grant is made).
std::string canonical(const UploadGrant& g) {
  return g.id + '\n' + g.filename + '\n' + std::to_string(g.size) + '\n' + g.content_type + '\n' + g.owner +
         '\n' + std::to_string(g.expires);
}

}  // namespace

std::string UploadSigner::sign(const UploadGrant& grant) const {
  std::string message = canonical(grant);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
            reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &length))
    throw std::runtime_error("HMAC-SHA256 failed");
  return hex(mac, length);
}

bool UploadSigner::verify(const UploadGrant& grant, std::string_view token) const {
  std::string expected = sign(grant);
  return token.size() == expected.size() && CRYPTO_memcmp(token.data(), expected.data(), expected.size()) == 0;
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  if (RAND_bytes(buffer.data(), static_cast<int>(bytes)) != 1) throw std::runtime_error("no random bytes");
  return hex(buffer.data(), bytes);
}

std::string load_or_create_secret(const std::filesystem::path& file) {
  if (std::ifstream in(file); in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 32) return secret;
    throw std::runtime_error(file.string() + ": secret too short (delete it to have a new one made)");
  }
  std::filesystem::create_directories(file.parent_path());
  std::string secret = random_hex(32);
  // Created 0600 from the start and renamed into place: never readable by others, never half
  // written.
  std::filesystem::path temporary = file;
  temporary += ".new";
  std::string line = secret + '\n';
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool written = fd >= 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) &&
                 ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!written) throw std::runtime_error("cannot write " + temporary.string());
  std::filesystem::rename(temporary, file);
  return secret;
}

}  // namespace http_upload

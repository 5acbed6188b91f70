#include "avatar_hashes.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace vcard {
namespace {

constexpr const char* kVcard = "vcard-temp";

std::optional<std::string> base64_decode(const std::string& text) {
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), int(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t padding = std::size_t(std::count(text.end() - 2, text.end(), '='));
  out.resize(std::size_t(n) - padding);
  return out;
}

}  // namespace

std::optional<Photo> photo_of(const xmppd::Element& vcard) {
  const xmppd::Element* photo = vcard.child("PHOTO", kVcard);
  if (!photo) return std::nullopt;
  Photo out;
  out.type = photo->child_text("TYPE", kVcard);
  out.base64 = photo->child_text("BINVAL", kVcard);
  // BINVAL is usually folded over many lines.
  std::erase_if(out.base64, [](unsigned char c) { return std::isspace(c); });
  auto bytes = base64_decode(out.base64);
  if (!bytes) return std::nullopt;
  out.bytes = bytes->size();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes->data(), bytes->size(), digest, &len, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < len; ++i) {
    out.hash += hex[digest[i] >> 4];
    out.hash += hex[digest[i] & 15];
  }
  return out;
}

std::string photo_hash(const xmppd::Element& vcard) {
  auto photo = photo_of(vcard);
  return photo ? photo->hash : std::string();
}

void AvatarHashes::set(const std::string& bare_jid, std::string hash) {
  std::lock_guard lock(mutex_);
  hashes_[bare_jid] = std::move(hash);
}

std::optional<std::string> AvatarHashes::get(const std::string& bare_jid) const {
  std::lock_guard lock(mutex_);
  auto it = hashes_.find(bare_jid);
  if (it == hashes_.end()) return std::nullopt;
  return it->second;
}

}  // namespace vcard

#include "scram_client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace bench {

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out(3 * (in.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  size_t pad = 0;  // EVP_DecodeBlock keeps the bytes the '=' padding stands for
  if (!in.empty() && in.back() == '=') ++pad;
  if (in.size() > 1 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

namespace {

Digest hmac(const Digest& key, std::string_view data) {
  Digest out{};
  unsigned int len = 0;
  HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out.data(), &len);
  return out;
}

std::string hex(const Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : d) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

bool unhex(std::string_view s, Digest& d) {
  if (s.size() != 40) return false;
  auto v = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < 20; ++i) {
    int hi = v(s[2 * i]), lo = v(s[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    d[i] = static_cast<unsigned char>(hi * 16 + lo);
  }
  return true;
}

// Value of attribute `key` ("r", "s", "i", "v", "e") in a SCRAM message.
std::optional<std::string_view> attr(std::string_view msg, char key) {
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t end = msg.find(',', pos);
    if (end == std::string_view::npos) end = msg.size();
    if (end - pos >= 2 && msg[pos] == key && msg[pos + 1] == '=') return msg.substr(pos + 2, end - pos - 2);
    pos = end + 1;
  }
  return std::nullopt;
}

}  // namespace

const ScramKeys& ScramCache::keys(const std::string& user, std::string_view password, std::string_view salt_b64,
                                  int iterations) {
  auto it = map_.find(user);
  if (it != map_.end() && it->second.salt_b64 == salt_b64 && it->second.iterations == iterations) return it->second;
  ScramKeys k;
  k.salt_b64 = std::string(salt_b64);
  k.iterations = iterations;
  auto salt = base64_decode(salt_b64).value_or(std::string());
  Digest salted{};
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                    EVP_sha1(), static_cast<int>(salted.size()), salted.data());
  k.client_key = hmac(salted, "Client Key");
  SHA1(k.client_key.data(), k.client_key.size(), k.stored_key.data());
  k.server_key = hmac(salted, "Server Key");
  ++derivations_;
  dirty_ = true;
  return map_[user] = k;
}

bool ScramCache::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  std::string user, salt, ck, sk;
  int iter = 0;
  size_t lines = 0;
  while (in >> user >> salt >> iter >> ck >> sk && lines++ < 10'000'000) {
    ScramKeys k;
    k.salt_b64 = salt;
    k.iterations = iter;
    if (!unhex(ck, k.client_key) || !unhex(sk, k.server_key)) continue;
    SHA1(k.client_key.data(), k.client_key.size(), k.stored_key.data());
    map_[user] = k;
  }
  return true;
}

bool ScramCache::save(const std::string& path) const {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    for (const auto& [user, k] : map_)
      out << user << ' ' << k.salt_b64 << ' ' << k.iterations << ' ' << hex(k.client_key) << ' '
          << hex(k.server_key) << '\n';
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

ScramClient::ScramClient(std::string user, std::string password, std::string cnonce)
    : user_(std::move(user)), password_(std::move(password)), cnonce_(std::move(cnonce)) {
  // Bench user names never contain ',' or '=', so no saslname escaping is needed.
  first_bare_ = "n=" + user_ + ",r=" + cnonce_;
}

std::string ScramClient::client_first() const { return "n,," + first_bare_; }

std::optional<std::string> ScramClient::client_final(std::string_view server_first, ScramCache& cache) {
  auto nonce = attr(server_first, 'r');
  auto salt = attr(server_first, 's');
  auto iter = attr(server_first, 'i');
  if (!nonce || !salt || !iter || !nonce->starts_with(cnonce_)) return std::nullopt;
  int iterations = 0;
  for (char c : *iter) {
    if (c < '0' || c > '9' || iterations > 100'000'000) return std::nullopt;
    iterations = iterations * 10 + (c - '0');
  }
  const ScramKeys& k = cache.keys(user_, password_, *salt, iterations);
  std::string without_proof = "c=biws,r=" + std::string(*nonce);
  std::string auth_message;
  auth_message.reserve(first_bare_.size() + server_first.size() + without_proof.size() + 2);
  auth_message.append(first_bare_).append(",").append(server_first).append(",").append(without_proof);
  Digest signature = hmac(k.stored_key, auth_message);
  std::string proof(20, '\0');
  for (size_t i = 0; i < 20; ++i) proof[i] = static_cast<char>(k.client_key[i] ^ signature[i]);
  server_signature_ = hmac(k.server_key, auth_message);
  return without_proof + ",p=" + base64_encode(proof);
}

bool ScramClient::verify_server_final(std::string_view server_final) const {
  auto v = attr(server_final, 'v');
  if (!v) return false;
  auto sig = base64_decode(*v);
  return sig && sig->size() == 20 && std::memcmp(sig->data(), server_signature_.data(), 20) == 0;
}

}  // namespace bench

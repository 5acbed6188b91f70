#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

#include "common/log.hpp"

namespace ssl = boost::asio::ssl;
namespace fs = std::filesystem;

namespace xmppd::net {
namespace {

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (!e) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

void write_pem(const fs::path& path, bool is_key, EVP_PKEY* key, X509* cert) {
  // Keys are created owner-only from the start.
  mode_t old = umask(is_key ? 077 : 022);
  std::FILE* f = std::fopen(path.c_str(), "w");
  umask(old);
  if (!f) throw std::runtime_error("cannot write " + path.string());
  bool ok = is_key ? PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr)
                   : PEM_write_X509(f, cert);
  std::fclose(f);
  if (!ok) throw std::runtime_error("cannot write " + path.string() + ": " + openssl_error());
}

// A P-256 key and a ten-year certificate naming `domain` in its subject and SAN.
void generate_self_signed(const std::string& domain, const fs::path& cert_path,
                          const fs::path& key_path) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw std::runtime_error("cannot generate a key: " + openssl_error());
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(domain.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  std::string san = "DNS:" + domain + ",otherName:1.3.6.1.5.5.7.8.5;UTF8:" + domain;
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san.c_str()},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) throw std::runtime_error("cannot build certificate: " + openssl_error());
    X509_add_ext(cert.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    throw std::runtime_error("cannot sign certificate: " + openssl_error());
  write_pem(key_path, true, key.get(), nullptr);
  write_pem(cert_path, false, nullptr, cert.get());
}

// Says plainly what is wrong with a certificate or key file before OpenSSL tries it, and
// warns about a private key other users can read.
void check_readable(const std::string& path, const char* what) {
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (ec || !fs::exists(status)) throw std::runtime_error(std::string(what) + " " + path + ": no such file");
  if (!fs::is_regular_file(status)) throw std::runtime_error(std::string(what) + " " + path + ": not a regular file");
  if (::access(path.c_str(), R_OK) != 0)
    throw std::runtime_error(std::string("cannot read ") + what + " " + path + ": " + std::strerror(errno) +
                             " (the server runs as uid " + std::to_string(::getuid()) + ")");
  auto others = fs::perms::group_read | fs::perms::others_read;
  if (std::string_view(what) == "key" && (status.permissions() & others) != fs::perms::none)
    log::warn("key ", path, " is readable by other users; restrict it: chmod 600 ", path);
}

std::unique_ptr<ssl::context> make_context(const std::string& cert, const std::string& key) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  // TLS 1.2: forward-secret AEAD suites only (TLS 1.3 suites are all modern).
  SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20");
  // Idle sessions should not keep 34 KB of TLS buffers.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  check_readable(cert, "certificate");
  check_readable(key, "key");
  if (SSL_CTX_use_certificate_chain_file(native, cert.c_str()) != 1)
    throw std::runtime_error("cannot load certificate " + cert + ": " + openssl_error());
  // OpenSSL notices a mismatch while loading the key or only when asked; say it plainly.
  bool loaded = SSL_CTX_use_PrivateKey_file(native, key.c_str(), SSL_FILETYPE_PEM) == 1;
  if (!loaded && ERR_GET_REASON(ERR_peek_error()) != X509_R_KEY_VALUES_MISMATCH)
    throw std::runtime_error("cannot load key " + key + ": " + openssl_error());
  if (!loaded || SSL_CTX_check_private_key(native) != 1)
    throw std::runtime_error("key " + key + " does not match certificate " + cert);
  return ctx;
}

int on_servername(SSL* ssl, int*, void* arg) {
  auto* self = static_cast<TlsContexts*>(arg);
  if (const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name))
    SSL_set_SSL_CTX(ssl, self->for_host(name).native_handle());
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

TlsContexts::TlsContexts(const config::Config& config) : contexts_(load(config)) {}

void TlsContexts::reload(const config::Config& config) {
  Contexts fresh = load(config);
  std::lock_guard lock(mutex_);
  retired_.push_back(std::exchange(contexts_, std::move(fresh)));
}

TlsContexts::Contexts TlsContexts::load(const config::Config& config) {
  Contexts contexts;
  for (const auto& host : config.hosts) {
    std::string cert = host.certificate, key = host.key;
    if (cert.empty()) {
      fs::path dir = fs::path(config.data_dir) / "certs";
      fs::create_directories(dir);
      fs::path cert_path = dir / (host.domain + ".crt"), key_path = dir / (host.domain + ".key");
      if (!fs::exists(cert_path) || !fs::exists(key_path)) {
        generate_self_signed(host.domain, cert_path, key_path);
        log::warn("generated a self-signed certificate for ", host.domain, " at ",
                  cert_path.string(), "; clients will not trust it until you configure a real one");
      } else {
        log::info("using the self-signed certificate for ", host.domain, " at ", cert_path.string());
      }
      cert = cert_path.string();
      key = key_path.string();
    }
    contexts.emplace(host.domain, make_context(cert, key));
  }
  SSL_CTX* first = contexts.begin()->second->native_handle();
  SSL_CTX_set_tlsext_servername_callback(first, on_servername);
  SSL_CTX_set_tlsext_servername_arg(first, this);
  return contexts;
}

ssl::context& TlsContexts::for_host(std::string_view domain) {
  std::lock_guard lock(mutex_);
  auto it = contexts_.find(domain);
  return it != contexts_.end() ? *it->second : *contexts_.begin()->second;
}

ssl::context& TlsContexts::by_sni() {
  std::lock_guard lock(mutex_);
  return *contexts_.begin()->second;
}

}  // namespace xmppd::net

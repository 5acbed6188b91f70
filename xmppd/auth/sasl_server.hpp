// Server-side SASL through Cyrus libsasl2, fed with SCRAM secrets from our own store.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/account_store.hpp"

typedef struct sasl_conn sasl_conn_t;
typedef struct sasl_server_params sasl_server_params_t;
struct sasl_callback;
struct propctx;

namespace xmppd::auth {

// Initializes libsasl2 once per process, allowing only `mechanisms` (e.g. SCRAM-SHA-256,
// SCRAM-SHA-1, PLAIN). Throws std::runtime_error if libsasl2 or a mechanism is missing.
void init_sasl(const std::vector<std::string>& mechanisms);

// Peeks at the authentication identity in a client's SASL message so its secrets can be
// fetched from storage before Cyrus asks for them: "n=user" in a SCRAM client-first
// message, the authcid of PLAIN. Returns nodeprep-normalized localpart; nullopt if there is
// none or it names another domain.
std::optional<std::string> peek_username(std::string_view mechanism, std::string_view message,
                                         std::string_view domain);

// One authentication exchange on one stream.
class SaslExchange {
 public:
  struct Step {
    enum Kind { challenge, success, failure } kind;
    std::string data;       // challenge, or additional data with success
    std::string condition;  // RFC 6120 §6.5 condition on failure
  };

  // `secure`: the stream is TLS-protected (PLAIN is offered only then).
  SaslExchange(std::string domain, bool secure);
  ~SaslExchange();
  SaslExchange(const SaslExchange&) = delete;
  SaslExchange& operator=(const SaslExchange&) = delete;

  std::vector<std::string> mechanisms() const;

  // The user's secrets, fetched after peek_username(); nullopt when there is no such user.
  void provide_secrets(std::string username, std::optional<storage::Secrets> secrets);
  bool has_secrets() const { return username_.has_value(); }

  // `initial`: the initial response, if the client sent one.
  Step start(std::string_view mechanism, std::optional<std::string_view> initial);
  Step step(std::string_view response);

  // The authenticated localpart (nodeprep-normalized) after success.
  const std::string& username() const { return authenticated_; }

  // For the auxprop plugin: fills Cyrus's "*authPassword" request for `user`.
  int lookup(sasl_server_params_t* sparams, unsigned flags, std::string_view user);

 private:
  Step result(int rc, const char* out, unsigned outlen);
  friend int checkpass(sasl_conn_t*, void*, const char*, const char*, unsigned, ::propctx*);
  friend int authorize(sasl_conn_t*, void*, const char*, unsigned, const char*, unsigned,
                       const char*, unsigned, ::propctx*);

  std::string domain_;
  bool secure_;
  sasl_conn_t* conn_ = nullptr;
  std::optional<std::string> username_;  // whose secrets were provided
  std::optional<storage::Secrets> secrets_;
  std::string authenticated_;
  std::vector<std::string> mechanisms_;
  std::vector<::sasl_callback> callbacks_;
};

}  // namespace xmppd::auth

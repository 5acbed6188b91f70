#include "auth/sasl_server.hpp"

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <sstream>
#include <stdexcept>

#include <xmppd/jid.hpp>

#include "auth/scram.hpp"
#include "common/log.hpp"

namespace xmppd::auth {
namespace {

constexpr const char* kAuxpropName = "xmppd";
std::string g_mech_list;  // written once by init_sasl, read by Cyrus afterwards

// The exchange whose Cyrus call is running on this thread. Cyrus asks our auxprop plugin
// for secrets synchronously inside sasl_server_start/step, so the secrets fetched for the
// stream are reachable without any shared table.
thread_local SaslExchange* t_current = nullptr;

void* mutex_alloc() { return new std::mutex; }
int mutex_lock(void* m) { static_cast<std::mutex*>(m)->lock(); return SASL_OK; }
int mutex_unlock(void* m) { static_cast<std::mutex*>(m)->unlock(); return SASL_OK; }
void mutex_free(void* m) { delete static_cast<std::mutex*>(m); }

int getopt(void*, const char*, const char* option, const char** result, unsigned* len) {
  const char* value = nullptr;
  if (std::strcmp(option, "mech_list") == 0) value = g_mech_list.c_str();
  else if (std::strcmp(option, "auxprop_plugin") == 0) value = kAuxpropName;
  else if (std::strcmp(option, "pwcheck_method") == 0) value = "auxprop";
  if (!value) return SASL_FAIL;
  *result = value;
  if (len) *len = unsigned(std::strlen(value));
  return SASL_OK;
}

int log_cb(void*, int level, const char* message) {
  if (level <= SASL_LOG_ERR) log::warn("sasl: ", message);
  else log::debug("sasl: ", message);
  return SASL_OK;
}

// "alice" or "alice@domain" (Cyrus appends the realm) → nodeprep'ed "alice"; nullopt if
// the realm is another domain.
std::optional<std::string> local_user(std::string_view user, std::string_view domain) {
  if (auto at = user.rfind('@'); at != std::string_view::npos) {
    auto d = Jid::nameprep(user.substr(at + 1));
    if (!d || *d != domain) return std::nullopt;
    user = user.substr(0, at);
  }
  return Jid::nodeprep(user);
}

// Auxprop plugin: answers "authPassword" with the secrets of the exchange in progress.
int auxprop_lookup(void*, sasl_server_params_t* sparams, unsigned flags, const char* user,
                   unsigned ulen) {
  if (flags & SASL_AUXPROP_AUTHZID) return SASL_OK;  // we only know authentication secrets
  SaslExchange* ex = t_current;
  if (!ex) return SASL_NOUSER;
  return ex->lookup(sparams, flags, std::string_view(user, ulen));
}

sasl_auxprop_plug_t g_auxprop = {
    0, 0, nullptr, nullptr, auxprop_lookup, const_cast<char*>(kAuxpropName), nullptr,
};

int auxprop_init(const sasl_utils_t*, int max_version, int* out_version,
                 sasl_auxprop_plug_t** plug, const char*) {
  if (max_version < SASL_AUXPROP_PLUG_VERSION) return SASL_BADVERS;
  *out_version = SASL_AUXPROP_PLUG_VERSION;
  *plug = &g_auxprop;
  return SASL_OK;
}

using Callback = int (*)();
// Cyrus stores every callback as int(*)(); the detour through void(*)() says we mean it.
template <class F>
Callback as_callback(F* f) {
  return reinterpret_cast<Callback>(reinterpret_cast<void (*)()>(f));
}

}  // namespace

// PLAIN: the password is checked against the stored SCRAM secret; nothing plaintext is kept.
int checkpass(sasl_conn_t*, void* context, const char* user, const char* pass, unsigned passlen,
              struct propctx*) {
  auto* ex = static_cast<SaslExchange*>(context);
  auto name = local_user(user, ex->domain_);
  if (!name || !ex->username_ || *name != *ex->username_ || !ex->secrets_) return SASL_NOUSER;
  std::string_view password(pass, passlen);
  for (const ScramSecret& s : *ex->secrets_)
    if (verify_password(s, password)) return SASL_OK;
  return SASL_BADAUTH;
}

// An authorization identity other than the account itself is refused (no proxy logins).
int authorize(sasl_conn_t*, void* context, const char* requested, unsigned rlen,
              const char* auth_identity, unsigned alen, const char*, unsigned, struct propctx*) {
  auto* ex = static_cast<SaslExchange*>(context);
  auto authn = local_user(std::string_view(auth_identity, alen), ex->domain_);
  auto authz = local_user(std::string_view(requested, rlen), ex->domain_);
  return (authn && authz && *authn == *authz) ? SASL_OK : SASL_NOAUTHZ;
}

void init_sasl(const std::vector<std::string>& mechanisms) {
  static std::once_flag once;
  std::call_once(once, [&] {
    std::ostringstream list;
    for (const auto& m : mechanisms) list << m << ' ';
    g_mech_list = list.str();
    sasl_set_mutex(mutex_alloc, mutex_lock, mutex_unlock, mutex_free);
    static sasl_callback_t global_callbacks[] = {
        {SASL_CB_GETOPT, as_callback(&getopt), nullptr},
        {SASL_CB_LOG, as_callback(&log_cb), nullptr},
        {SASL_CB_LIST_END, nullptr, nullptr},
    };
    int rc = sasl_server_init(global_callbacks, "xmppd");
    if (rc != SASL_OK)
      throw std::runtime_error(std::string("libsasl2 init failed: ") + sasl_errstring(rc, nullptr, nullptr));
    rc = sasl_auxprop_add_plugin(kAuxpropName, auxprop_init);
    if (rc != SASL_OK) throw std::runtime_error("libsasl2: cannot register the xmppd auxprop plugin");
  });
  // Every configured mechanism must exist (SCRAM comes from libsasl2-modules).
  SaslExchange probe("localhost", true);
  auto offered = probe.mechanisms();
  for (const auto& m : mechanisms)
    if (std::find(offered.begin(), offered.end(), m) == offered.end())
      throw std::runtime_error("SASL mechanism " + m + " is not available (is libsasl2-modules installed?)");
}

std::optional<std::string> peek_username(std::string_view mechanism, std::string_view message,
                                         std::string_view domain) {
  std::string_view user;
  if (mechanism == "PLAIN") {
    // authzid NUL authcid NUL password
    auto first = message.find('\0');
    if (first == std::string_view::npos) return std::nullopt;
    auto second = message.find('\0', first + 1);
    if (second == std::string_view::npos) return std::nullopt;
    user = message.substr(first + 1, second - first - 1);
  } else if (mechanism.starts_with("SCRAM-")) {
    // gs2-header "," "n=" saslname "," ...; the gs2 header is "flag,[a=authzid],"
    auto pos = message.find(',');
    if (pos == std::string_view::npos) return std::nullopt;
    pos = message.find(',', pos + 1);
    if (pos == std::string_view::npos || message.substr(pos + 1, 2) != "n=") return std::nullopt;
    auto start = pos + 3;
    auto end = message.find(',', start);
    if (end == std::string_view::npos) return std::nullopt;
    std::string decoded;  // saslname escapes: =2C → ',', =3D → '='
    for (auto i = start; i < end; ++i) {
      if (message[i] == '=') {
        auto esc = message.substr(i, 3);
        if (esc == "=2C") decoded += ',';
        else if (esc == "=3D") decoded += '=';
        else return std::nullopt;
        i += 2;
      } else {
        decoded += message[i];
      }
    }
    return local_user(decoded, domain);
  } else {
    return std::nullopt;
  }
  return local_user(user, domain);
}

SaslExchange::SaslExchange(std::string domain, bool secure)
    : domain_(std::move(domain)), secure_(secure) {
  callbacks_ = {
      {SASL_CB_SERVER_USERDB_CHECKPASS, as_callback(&checkpass), this},
      {SASL_CB_PROXY_POLICY, as_callback(&authorize), this},
      {SASL_CB_LIST_END, nullptr, nullptr},
  };
  int rc = sasl_server_new("xmpp", domain_.c_str(), domain_.c_str(), nullptr, nullptr,
                           callbacks_.data(), SASL_SUCCESS_DATA, &conn_);
  if (rc != SASL_OK) throw std::runtime_error("sasl_server_new failed");
  sasl_security_properties_t props{};
  props.min_ssf = 0;
  props.max_ssf = 0;  // no SASL security layers: TLS protects the stream
  props.maxbufsize = 0;
  props.security_flags = SASL_SEC_NOANONYMOUS | (secure ? 0 : SASL_SEC_NOPLAINTEXT);
  sasl_setprop(conn_, SASL_SEC_PROPS, &props);

  const char* list = nullptr;
  unsigned len = 0;
  int count = 0;
  if (sasl_listmech(conn_, nullptr, "", " ", "", &list, &len, &count) == SASL_OK) {
    std::istringstream in(std::string(list, len));
    for (std::string m; in >> m;) mechanisms_.push_back(m);
  }
}

SaslExchange::~SaslExchange() {
  if (conn_) sasl_dispose(&conn_);
}

std::vector<std::string> SaslExchange::mechanisms() const { return mechanisms_; }

void SaslExchange::provide_secrets(std::string username, std::optional<storage::Secrets> secrets) {
  username_ = std::move(username);
  secrets_ = std::move(secrets);
}

int SaslExchange::lookup(sasl_server_params_t* sparams, unsigned flags, std::string_view user) {
  auto name = local_user(user, domain_);
  if (!name || !username_ || *name != *username_ || !secrets_) return SASL_NOUSER;
  for (const struct propval* p = sparams->utils->prop_get(sparams->propctx); p && p->name; ++p) {
    if (std::strcmp(p->name, "*authPassword") != 0) continue;
    if (p->values && !(flags & SASL_AUXPROP_OVERRIDE)) continue;
    if (p->values) sparams->utils->prop_erase(sparams->propctx, p->name);
    for (const ScramSecret& s : *secrets_) {
      std::string value = to_auth_password(s);
      sparams->utils->prop_set(sparams->propctx, p->name, value.c_str(), int(value.size()));
    }
  }
  return SASL_OK;
}

namespace {
// Makes `ex` the exchange Cyrus's callbacks see on this thread for the scope's duration.
struct CurrentExchange {
  explicit CurrentExchange(SaslExchange* ex) : previous(t_current) { t_current = ex; }
  ~CurrentExchange() { t_current = previous; }
  SaslExchange* previous;
};

std::string condition_for(int rc) {
  switch (rc) {
    case SASL_BADAUTH:
    case SASL_NOUSER:
    case SASL_NOAUTHZ:
    case SASL_NOVERIFY:
    case SASL_EXPIRED:
    case SASL_DISABLED:
      return "not-authorized";
    case SASL_BADPROT:
    case SASL_BADPARAM:
      return "malformed-request";
    case SASL_NOMECH:
      return "invalid-mechanism";
    case SASL_ENCRYPT:
    case SASL_TOOWEAK:
      return "encryption-required";
    default:
      return "temporary-auth-failure";
  }
}
}  // namespace

SaslExchange::Step SaslExchange::result(int rc, const char* out, unsigned outlen) {
  std::string data = out ? std::string(out, outlen) : std::string();
  if (rc == SASL_CONTINUE) return {Step::challenge, std::move(data), {}};
  if (rc == SASL_OK) {
    const void* user = nullptr;
    if (sasl_getprop(conn_, SASL_USERNAME, &user) == SASL_OK && user) {
      if (auto name = local_user(static_cast<const char*>(user), domain_)) {
        authenticated_ = *name;
        return {Step::success, std::move(data), {}};
      }
    }
    return {Step::failure, {}, "not-authorized"};
  }
  log::debug("sasl: ", sasl_errdetail(conn_));
  return {Step::failure, {}, condition_for(rc)};
}

SaslExchange::Step SaslExchange::start(std::string_view mechanism,
                                       std::optional<std::string_view> initial) {
  if (std::find(mechanisms_.begin(), mechanisms_.end(), mechanism) == mechanisms_.end())
    return {Step::failure, {}, "invalid-mechanism"};
  CurrentExchange scope(this);
  const char* out = nullptr;
  unsigned outlen = 0;
  std::string mech(mechanism);
  int rc = sasl_server_start(conn_, mech.c_str(), initial ? initial->data() : nullptr,
                             initial ? unsigned(initial->size()) : 0, &out, &outlen);
  return result(rc, out, outlen);
}

SaslExchange::Step SaslExchange::step(std::string_view response) {
  CurrentExchange scope(this);
  const char* out = nullptr;
  unsigned outlen = 0;
  int rc = sasl_server_step(conn_, response.data(), unsigned(response.size()), &out, &outlen);
  return result(rc, out, outlen);
}

}  // namespace xmppd::auth

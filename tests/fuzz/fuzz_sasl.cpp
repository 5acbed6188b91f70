// SASL exchanges (Cyrus libsasl2 with our SCRAM secrets) fed arbitrary client messages:
// the username peek, the mechanism start and every step must fail cleanly, never crash,
// and never succeed without the password.
#include <fuzzer/FuzzedDataProvider.h>
#include <openssl/rand.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "auth/sasl_server.hpp"
#include "auth/scram.hpp"
#include "storage/account_store.hpp"

namespace {

using namespace xmppd;

const char* const kMechanisms[] = {"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "DIGEST-MD5", ""};

// A password no input can contain: random at every run.
storage::Secrets alice_secrets() {
  static const auto secrets = [] {
    unsigned char raw[24];
    RAND_bytes(raw, sizeof raw);
    return *auth::make_secrets(auth::base64_encode(std::string(reinterpret_cast<char*>(raw), sizeof raw)), 4096);
  }();
  return secrets;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool initialized = (auth::init_sasl({"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"}), true);
  (void)initialized;
  FuzzedDataProvider input(data, size);
  std::string mechanism = input.PickValueInArray(kMechanisms);
  std::string first = input.ConsumeRandomLengthString(512);

  // The decoders the stream uses on the same bytes.
  auth::base64_decode(first);
  auth::from_auth_password(first);
  auth::saslprep(first);

  auth::SaslExchange exchange("localhost", true);
  if (auto user = auth::peek_username(mechanism, first, "localhost"))
    exchange.provide_secrets(*user, *user == "alice" ? std::optional(alice_secrets()) : std::nullopt);
  auto step = exchange.start(mechanism, input.ConsumeBool() ? std::optional<std::string_view>(first) : std::nullopt);
  for (int i = 0; i < 3 && step.kind == auth::SaslExchange::Step::challenge; ++i)
    step = exchange.step(input.ConsumeRandomLengthString(512));
  // Without the password (never in the input's reach) no exchange can succeed.
  if (step.kind == auth::SaslExchange::Step::success) std::abort();
  return 0;
}

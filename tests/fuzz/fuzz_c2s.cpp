// The c2s stream state machine fed raw client bytes over a real loopback TCP connection:
// stream header checks, STARTTLS, SASL, stanzas before authentication, stream errors.
// Whatever arrives, the session must end cleanly without crashing, leaking or hanging.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "auth/auth_throttle.hpp"
#include "auth/sasl_server.hpp"
#include "auth/scram.hpp"
#include "config/config.hpp"
#include "net/tls.hpp"
#include "router/router.hpp"
#include "storage/storage.hpp"
#include "storage/storage_thread.hpp"
#include "stream/c2s_session.hpp"
#include "stream/resumption_table.hpp"
#include "stream/session_registry.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace xmppd;

namespace {

// One server core for the whole run: what xmppd builds at start, minus the listeners.
struct Core {
  Core()
      : config(make_config()),
        storage(storage::open_sqlite(config.database_path())),
        tls(config),
        router(std::vector<std::string>{"localhost"}, storage, io.get_executor()),
        throttle(1000000, std::chrono::seconds(1)),
        context{config, tls, router, storage, throttle, registry, resumable},
        acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    auth::init_sasl(config.mechanisms);
    auto secrets = auth::make_secrets("alice-pass", 4096);
    storage.call([&](storage::Storage& s) { return s.accounts().create("alice", "localhost", *secrets); });
  }

  static config::Config make_config() {
    auto dir = std::filesystem::temp_directory_path() / ("xmppd-fuzz-c2s-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    config::Config c = config::parse(
        "[server]\ndata_dir = \"" + dir.string() + "\"\n[c2s]\nrequire_encryption = false\nauth_timeout = 5\n"
        "[c2s.limits]\nmax_stanza_bytes = 4096\nmax_bytes_per_second = 0\n[hosts.localhost]\n",
        "(fuzz)");
    return c;
  }

  asio::io_context io{1};
  config::Config config;
  storage::StorageThread storage;
  net::TlsContexts tls;
  router::Router router;
  auth::AuthThrottle throttle;
  stream::SessionRegistry registry;
  stream::ResumptionTable resumable;
  stream::C2SContext context;
  tcp::acceptor acceptor;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Core* core = new Core;  // lives for the whole run, like the server
  asio::io_context& io = core->io;

  // Each run from another loopback address: hundreds of thousands of short connections
  // would otherwise exhaust one address's ephemeral ports (TIME_WAIT).
  static std::uint32_t runs = 0;
  tcp::socket client(io, tcp::endpoint(asio::ip::address_v4(0x7F000002u + (runs++ % 0xFFFF00u)), 0));
  // Connected and accepted asynchronously: libFuzzer's timer signal interrupts blocking
  // calls (a blocking connect once failed with EINTR), and asio's reactor retries them.
  core->acceptor.async_accept([&](boost::system::error_code ec, tcp::socket accepted) {
    if (!ec) {
      const tcp::endpoint peer = accepted.remote_endpoint(ec);
      std::make_shared<stream::C2SSession>(core->context, std::move(accepted), peer, false)->start();
    }
  });
  // The client sends everything, says it is done, and reads until the server closes.
  std::string input(reinterpret_cast<const char*>(data), size);
  std::string output;
  client.async_connect(core->acceptor.local_endpoint(), [&](boost::system::error_code ec) {
    if (ec) {
      core->acceptor.cancel();
      return;
    }
    asio::async_write(client, asio::buffer(input), [&](boost::system::error_code ec, std::size_t) {
      if (!ec) client.shutdown(tcp::socket::shutdown_send, ec);
    });
    asio::async_read(client, asio::dynamic_buffer(output), [](boost::system::error_code, std::size_t) {});
  });

  io.restart();
  io.run_for(std::chrono::seconds(10));
  if (!io.stopped() || core->registry.size() != 0) std::abort();  // a session that never ended
  return 0;
}

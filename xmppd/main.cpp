// xmppd: arguments, configuration, signals, run.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "common/log.hpp"
#include "config/config.hpp"
#include "module/registry.hpp"
#include "server.hpp"

namespace {

constexpr const char* kUsage =
    "usage: xmppd [--config FILE] [--check-config]\n"
    "  --config FILE    configuration file (default: config/xmppd.toml if present,\n"
    "                   else built-in defaults: domain localhost, data in ./data)\n"
    "  --check-config   validate the configuration and exit\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace xmppd;
  std::string config_path;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) config_path = argv[++i];
    else if (arg == "--check-config") check_only = true;
    else if (arg == "--help" || arg == "-h") { std::cout << kUsage; return 0; }
    else { std::cerr << kUsage; return 2; }
  }
  if (config_path.empty() && std::filesystem::exists("config/xmppd.toml")) config_path = "config/xmppd.toml";

  config::Config config;
  try {
    config = config_path.empty() ? config::defaults() : config::load(config_path);
  } catch (const config::ConfigError& e) {
    std::cerr << "xmppd: configuration error:\n" << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    try {
      module::load_configured(config);
    } catch (const std::exception& e) {
      std::cerr << "xmppd: configuration error:\n" << e.what() << "\n";
      return 1;
    }
    std::cout << "config OK: " << config.source_path << "\n";
    return 0;
  }

  log::Level level = log::Level::info;
  log::parse_level(config.log_level, level);
  log::set_level(level);
  if (!config.log_file.empty()) {
    std::string error;
    if (!log::set_file(config.log_file, error)) {
      std::cerr << "xmppd: " << error << "\n";
      return 1;
    }
  }
  std::signal(SIGPIPE, SIG_IGN);

  try {
    Server server(std::move(config));
    // Signals are caught on a thread of their own so a busy worker cannot delay shutdown.
    boost::asio::io_context signals_io;
    boost::asio::signal_set signals(signals_io, SIGINT, SIGTERM, SIGHUP);
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        log::info("received SIGHUP: reloading ", config_path);
        server.reload();
        signals.async_wait(on_signal);
        return;
      }
      log::info("received ", sig == SIGINT ? "SIGINT" : "SIGTERM");
      server.shutdown();
    };
    signals.async_wait(on_signal);
    std::thread signal_thread([&] { signals_io.run(); });
    server.run();
    signals.cancel();
    signals_io.stop();
    signal_thread.join();
  } catch (const std::exception& e) {
    log::error("xmppd: ", e.what());
    return 1;
  }
  return 0;
}

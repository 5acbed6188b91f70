// Starts the real xmppd binary on free loopback ports with a temporary data dir.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace xmppd::test {

class TestServer {
 public:
  // A config with one STARTTLS and one direct-TLS listener on 127.0.0.1 (ports picked by
  // the OS), host "localhost", data in a fresh temp dir. `extra_toml` adds tables,
  // `c2s_toml` keys of [c2s], `host_toml` keys of [hosts."localhost"]; `open_file_limit`
  // (if not 0) is the server process's RLIMIT_NOFILE.
  explicit TestServer(const std::string& extra_toml = {}, const std::string& c2s_toml = {},
                      const std::string& host_toml = {}, unsigned open_file_limit = 0);
  ~TestServer();

  // Creates an account with xmppctl; throws on failure.
  void add_user(const std::string& jid, const std::string& password);

  // Waits until a log line matches; returns it, or throws after `timeout`.
  std::string wait_for_log(const std::string& pattern,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string log() const;

  // SIGTERM and wait; returns the exit status (0 for a clean shutdown).
  int stop();
  // SIGKILL, as a crash or power cut would end it; then start() again on the same data.
  void kill_hard();
  // Starts the server (the constructor does); after a stop, on the same config and data.
  void start();

  unsigned short starttls_port() const { return starttls_port_; }
  unsigned short direct_tls_port() const { return direct_tls_port_; }
  const std::string& dir() const { return dir_; }
  const std::string& config_path() const { return config_path_; }

 private:
  void read_log(int fd);

  std::string dir_;
  std::string config_path_;
  pid_t pid_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
  unsigned short starttls_port_ = 0;
  unsigned short direct_tls_port_ = 0;
  unsigned open_file_limit_ = 0;
};

}  // namespace xmppd::test

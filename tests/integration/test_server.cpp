#include "test_server.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

extern char** environ;

namespace xmppd::test {
namespace {

pid_t spawn(const std::vector<std::string>& args, int stderr_fd) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stderr_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDOUT_FILENO);
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

TestServer::TestServer(const std::string& extra_toml, const std::string& c2s_toml,
                       const std::string& host_toml, unsigned open_file_limit)
    : open_file_limit_(open_file_limit) {
  char tmpl[] = "/tmp/xmppd-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  config_path_ = dir_ + "/xmppd.toml";
  std::ofstream(config_path_) << "[server]\ndata_dir = \"" << dir_ << "/data\"\nthreads = 2\n"
                              << "[log]\nlevel = \"debug\"\n"
                              << "[c2s]\n" << c2s_toml
                              << "[[c2s.listen]]\naddress = \"127.0.0.1\"\nport = 0\ntls = \"starttls\"\n"
                              << "[[c2s.listen]]\naddress = \"127.0.0.1\"\nport = 0\ntls = \"direct\"\n"
                              << extra_toml << "\n[hosts.\"localhost\"]\n" << host_toml;

  start();
}

void TestServer::start() {
  if (reader_.joinable()) reader_.join();
  {
    std::lock_guard lock(mutex_);
    lines_.clear();  // a restart's log is searched afresh
  }
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  rlimit own{};
  getrlimit(RLIMIT_NOFILE, &own);
  if (open_file_limit_) {  // the child inherits it; this process gets its own back right after
    rlimit lowered = own;
    lowered.rlim_cur = open_file_limit_;
    setrlimit(RLIMIT_NOFILE, &lowered);
  }
  try {
    pid_ = spawn({XMPPD_BINARY, "--config", config_path_}, fds[1]);
  } catch (...) {
    setrlimit(RLIMIT_NOFILE, &own);
    throw;
  }
  setrlimit(RLIMIT_NOFILE, &own);
  close(fds[1]);
  reader_ = std::thread([this, fd = fds[0]] { read_log(fd); });

  std::smatch m;
  std::string line = wait_for_log(R"(c2s listening on 127\.0\.0\.1:\d+ \(STARTTLS\))");
  std::regex_search(line, m, std::regex(R"(:(\d+) \()"));
  starttls_port_ = static_cast<unsigned short>(std::stoi(m[1]));
  line = wait_for_log(R"(c2s listening on 127\.0\.0\.1:\d+ \(direct TLS\))");
  std::regex_search(line, m, std::regex(R"(:(\d+) \()"));
  direct_tls_port_ = static_cast<unsigned short>(std::stoi(m[1]));
  wait_for_log("xmppd ready");
}

TestServer::~TestServer() {
  stop();
  if (reader_.joinable()) reader_.join();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void TestServer::add_user(const std::string& jid, const std::string& password) {
  pid_t pid = spawn({XMPPCTL_BINARY, "--config", config_path_, "adduser", jid, "--password", password}, -1);
  if (wait_exit(pid) != 0) throw std::runtime_error("xmppctl adduser " + jid + " failed");
}

void TestServer::read_log(int fd) {
  std::string partial;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    partial.append(buf, std::size_t(n));
    std::size_t pos;
    while ((pos = partial.find('\n')) != std::string::npos) {
      {
        std::lock_guard lock(mutex_);
        lines_.push_back(partial.substr(0, pos));
      }
      partial.erase(0, pos + 1);
      changed_.notify_all();
    }
  }
  close(fd);
}

std::string TestServer::wait_for_log(const std::string& pattern, std::chrono::milliseconds timeout) {
  std::regex re(pattern);
  std::unique_lock lock(mutex_);
  std::size_t checked = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (; checked < lines_.size(); ++checked)
      if (std::regex_search(lines_[checked], re)) return lines_[checked];
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && checked == lines_.size())
      throw std::runtime_error("no log line matching /" + pattern + "/ in:\n" + [&] {
        std::string all;
        for (const auto& l : lines_) all += l + "\n";
        return all;
      }());
  }
}

std::string TestServer::log() const {
  std::lock_guard lock(mutex_);
  std::string all;
  for (const auto& l : lines_) all += l + "\n";
  return all;
}

void TestServer::kill_hard() {
  if (pid_ < 0) return;
  kill(pid_, SIGKILL);
  wait_exit(pid_);
  pid_ = -1;
}

int TestServer::stop() {
  if (pid_ < 0) return 0;
  kill(pid_, SIGTERM);
  int status = wait_exit(pid_);
  pid_ = -1;
  return status;
}

}  // namespace xmppd::test

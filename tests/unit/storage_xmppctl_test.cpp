// Runs the built xmppctl binary against a temporary config and data directory.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

#include "auth/scram.hpp"
#include "storage/storage.hpp"

namespace {

namespace fs = std::filesystem;
using namespace xmppd;

struct Result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class Xmppctl : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "xmppctl-test-XXXXXX").string();
    dir_ = mkdtemp(pattern.data());
    config_ = (dir_ / "xmppd.toml").string();
    std::ofstream(config_) << "[server]\n"
                              "data_dir = " << quote((dir_ / "data").string()) << "\n"
                              "[auth]\n"
                              "scram_iterations = 4100\n"
                              "[hosts.\"example.com\"]\n"
                              "[hosts.\"example.net\"]\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // xmppctl `args`, run in the temporary directory, with `input` as its standard input
  // (a pipe, never a terminal).
  Result run(const std::string& args, const std::string& input = "") {
    fs::path err = dir_ / "stderr";
    std::string command = "cd " + quote(dir_.string()) + " && printf %s " + quote(input) + " | " +
                          quote(XMPPCTL_BINARY) + " " + args + " 2>" + quote(err.string());
    Result r;
    FILE* pipe = popen(command.c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    for (std::size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) r.out.append(buf, n);
    int status = pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = read_file(err);
    return r;
  }
  Result ctl(const std::string& args, const std::string& input = "") {
    return run("--config " + quote(config_) + " " + args, input);
  }

  std::optional<storage::Secrets> secrets_of(const std::string& user, const std::string& domain) {
    auto storage = storage::open_sqlite((dir_ / "data" / "xmppd.sqlite").string());
    return storage->accounts().secrets(user, domain);
  }

  fs::path dir_;
  std::string config_;
};

TEST_F(Xmppctl, AddListPasswdDelete) {
  Result added = ctl("adduser Alice@Example.com --password pencil");
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(added.out, "added alice@example.com\n");
  EXPECT_TRUE(fs::exists(dir_ / "data" / "xmppd.sqlite"));  // data_dir created on demand
  ASSERT_EQ(ctl("adduser bob@example.net --password x").exit_code, 0);

  // One secret per SCRAM mechanism, with the configured iterations.
  auto secrets = secrets_of("alice", "example.com");
  ASSERT_TRUE(secrets);
  ASSERT_EQ(secrets->size(), 2u);
  EXPECT_EQ((*secrets)[0].mechanism, "SCRAM-SHA-1");
  EXPECT_EQ((*secrets)[1].mechanism, "SCRAM-SHA-256");
  for (const auto& s : *secrets) {
    EXPECT_EQ(s.iterations, 4100u);
    EXPECT_TRUE(auth::verify_password(s, "pencil"));
  }

  EXPECT_EQ(ctl("listusers").out, "alice@example.com\nbob@example.net\n");
  EXPECT_EQ(ctl("listusers example.net").out, "bob@example.net\n");

  // Not a terminal: the password is one line of standard input.
  Result changed = ctl("passwd alice@example.com", "new secret\n");
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  secrets = secrets_of("alice", "example.com");
  ASSERT_TRUE(secrets);
  ASSERT_EQ(secrets->size(), 2u);
  for (const auto& s : *secrets) {
    EXPECT_TRUE(auth::verify_password(s, "new secret"));
    EXPECT_FALSE(auth::verify_password(s, "pencil"));
  }

  Result deleted = ctl("deluser alice@example.com");
  ASSERT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(secrets_of("alice", "example.com"), std::nullopt);
  EXPECT_EQ(ctl("listusers").out, "bob@example.net\n");
}

TEST_F(Xmppctl, PasswordFromStandardInput) {
  Result r = ctl("adduser carol@example.com", "from stdin\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto secrets = secrets_of("carol", "example.com");
  ASSERT_TRUE(secrets);
  EXPECT_TRUE(auth::verify_password(secrets->at(0), "from stdin"));

  Result empty = ctl("adduser dave@example.com", "\n");
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_NE(empty.err.find("empty password"), std::string::npos) << empty.err;
  EXPECT_EQ(ctl("adduser dave@example.com", "").exit_code, 1);  // no line at all
  EXPECT_EQ(secrets_of("dave", "example.com"), std::nullopt);
}

TEST_F(Xmppctl, ExistingAndMissingUsersAreErrors) {
  ASSERT_EQ(ctl("adduser alice@example.com --password a").exit_code, 0);
  Result again = ctl("adduser alice@example.com --password b");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_TRUE(auth::verify_password(secrets_of("alice", "example.com")->at(0), "a"));

  for (const char* command : {"deluser ghost@example.com", "passwd ghost@example.com --password x"}) {
    Result r = ctl(command);
    EXPECT_EQ(r.exit_code, 1) << command;
    EXPECT_NE(r.err.find("no such user"), std::string::npos) << r.err;
  }
  EXPECT_EQ(secrets_of("ghost", "example.com"), std::nullopt);  // passwd did not create it
}

TEST_F(Xmppctl, BadJidsAreErrors) {
  for (const char* jid : {"alice@", "@example.com", "example.com", "alice@example.com/phone",
                          "al\"ice@example.com", "alice@example.org"}) {
    Result r = ctl(std::string("adduser ") + quote(jid) + " --password x");
    EXPECT_EQ(r.exit_code, 1) << jid;
    EXPECT_FALSE(r.err.empty()) << jid;
    EXPECT_TRUE(r.out.empty()) << jid;
  }
  Result other_host = ctl("deluser alice@example.org");
  EXPECT_NE(other_host.err.find("example.org is not a host"), std::string::npos) << other_host.err;
  EXPECT_EQ(ctl("listusers example.org").exit_code, 1);
}

TEST_F(Xmppctl, UsageErrorsExitTwo) {
  for (const char* args : {"", "frobnicate", "adduser", "adduser a@example.com b@example.com",
                           "adduser a@example.com --password", "deluser a@example.com --password x",
                           "listusers example.com example.net", "check-config extra", "--verbose listusers"}) {
    Result r = ctl(args);
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_NE(r.err.find("usage:"), std::string::npos) << args;
  }
  EXPECT_EQ(run("--config").exit_code, 2);
}

TEST_F(Xmppctl, CheckConfig) {
  Result ok = ctl("check-config");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "config OK: " + config_ + "\n");

  std::string bad = (dir_ / "bad.toml").string();
  std::ofstream(bad) << "[server]\n"
                        "threads = \"many\"\n"
                        "[hosts.\"example.com\"]\n";
  Result r = run("--config " + quote(bad) + " check-config");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ":2"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty());

  std::ofstream(bad) << "[server\n";  // TOML syntax error
  r = run("--config " + quote(bad) + " check-config");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(bad + ":1"), std::string::npos) << r.err;

  // Other commands refuse to run on a bad config too.
  EXPECT_EQ(run("--config " + quote(bad) + " listusers").exit_code, 1);
  EXPECT_EQ(run("--config " + quote((dir_ / "missing.toml").string()) + " listusers").exit_code, 1);
}

TEST_F(Xmppctl, DefaultConfigIsConfigXmppdTomlElseBuiltIn) {
  Result builtin = run("check-config");
  EXPECT_EQ(builtin.exit_code, 0) << builtin.err;
  EXPECT_EQ(builtin.out, "config OK: (defaults)\n");

  fs::create_directories(dir_ / "config");
  fs::copy_file(config_, dir_ / "config" / "xmppd.toml");
  Result found = run("check-config");
  EXPECT_EQ(found.exit_code, 0) << found.err;
  EXPECT_EQ(found.out, "config OK: config/xmppd.toml\n");
}

}  // namespace

// A deliberately simple blocking XMPP client for protocol-level tests: it can send exactly
// the bytes a test wants (including broken ones) and waits for what comes back.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include <xmppd/element.hpp>

#include "xml/stream_parser.hpp"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace xmppd::test {

using namespace std::chrono_literals;

class TestClient {
 public:
  TestClient(unsigned short port, bool direct_tls = false);
  ~TestClient();

  void send(const std::string& bytes);
  // Sends a stream header for `domain` and waits for the server's header and features.
  Element open_stream(const std::string& domain = "localhost");
  void starttls();
  // STARTTLS (unless already secure), SASL PLAIN, restart, bind. Returns the bound JID.
  std::string login(const std::string& user, const std::string& password,
                    const std::string& resource = {}, const std::string& domain = "localhost");

  // The next top-level element from the server; throws on timeout or stream end.
  Element next(std::chrono::milliseconds timeout = 5s);
  // The next element named `name`, skipping others (e.g. a stray presence).
  Element next_named(const std::string& name, std::chrono::milliseconds timeout = 5s);
  // Waits for a stream error and the end of the connection; returns its condition.
  std::string expect_stream_error(std::chrono::milliseconds timeout = 5s);
  // True if the server closed the connection within `timeout`.
  bool closed_within(std::chrono::milliseconds timeout);

  bool secure() const { return ssl_ != nullptr; }
  // The socket, for tests that misbehave at the TCP level (half-close, tiny buffers).
  int fd() const { return fd_; }

 private:
  // Reads once, feeding the parser; false at end of stream.
  bool read_some(std::chrono::milliseconds timeout);
  void handshake();

  int fd_ = -1;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  xml::StreamParser parser_;
  std::deque<xml::Event> events_;
  bool eof_ = false;
};

}  // namespace xmppd::test

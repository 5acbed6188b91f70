#include "test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include <stdexcept>
#include <vector>

#include <xmppd/namespaces.hpp>

#include "auth/scram.hpp"

namespace xmppd::test {

TestClient::TestClient(unsigned short port, bool direct_tls)
    : parser_(xml::ParserLimits{.max_stanza_bytes = 1 << 24, .max_depth = 64, .max_attributes = 256}) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("cannot connect to port " + std::to_string(port));
  if (direct_tls) handshake();
}

TestClient::~TestClient() {
  if (ssl_) SSL_free(ssl_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (fd_ >= 0) close(fd_);
}

void TestClient::handshake() {
  ctx_ = SSL_CTX_new(TLS_client_method());
  ssl_ = SSL_new(ctx_);
  SSL_set_fd(ssl_, fd_);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  if (SSL_connect(ssl_) != 1) throw std::runtime_error("TLS handshake failed");
}

void TestClient::send(const std::string& bytes) {
  std::size_t done = 0;
  while (done < bytes.size()) {
    int n = ssl_ ? SSL_write(ssl_, bytes.data() + done, int(bytes.size() - done))
                 : int(::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL));
    if (n <= 0) throw std::runtime_error("send failed");
    done += std::size_t(n);
  }
}

bool TestClient::read_some(std::chrono::milliseconds timeout) {
  if (eof_) return false;
  if (!ssl_ || SSL_pending(ssl_) == 0) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, int(timeout.count())) <= 0) throw std::runtime_error("timed out waiting for the server");
  }
  char buf[16384];
  int n = ssl_ ? SSL_read(ssl_, buf, sizeof buf) : int(recv(fd_, buf, sizeof buf, 0));
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  std::vector<xml::Event> out;
  if (!parser_.feed(std::string_view(buf, std::size_t(n)), out))
    throw std::runtime_error(std::string("server sent bad XML: ") + parser_.error_text());
  for (auto& e : out) events_.push_back(std::move(e));
  return true;
}

Element TestClient::next(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    while (!events_.empty()) {
      xml::Event e = std::move(events_.front());
      events_.pop_front();
      if (auto* s = std::get_if<xml::Stanza>(&e)) return std::move(s->element);
      if (auto* o = std::get_if<xml::StreamOpen>(&e)) return std::move(o->header);
      throw std::runtime_error("the server closed its stream");
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !read_some(left)) throw std::runtime_error("no element from the server");
  }
}

Element TestClient::next_named(const std::string& name, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    Element e = next(left);
    if (e.name() == name) return e;
  }
}

std::string TestClient::expect_stream_error(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    Element e = next(left);
    if (e.is("error", ns::kStream)) {
      const Element* condition = e.first_child();
      if (!condition || condition->ns() != ns::kStreamErrors) throw std::runtime_error("malformed stream error");
      if (!closed_within(timeout)) throw std::runtime_error("stream error but the connection stayed open");
      return condition->name();
    }
  }
}

bool TestClient::closed_within(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  try {
    while (read_some(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()))) {
    }
    return true;
  } catch (const std::runtime_error&) {
    return eof_;
  }
}

Element TestClient::open_stream(const std::string& domain) {
  parser_.reset();
  send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='" +
       domain + "' version='1.0'>");
  Element header = next();
  if (!header.is("stream", ns::kStream)) throw std::runtime_error("no stream header");
  return next_named("features");
}

void TestClient::starttls() {
  send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  if (next().name() != "proceed") throw std::runtime_error("STARTTLS refused");
  handshake();
}

std::string TestClient::login(const std::string& user, const std::string& password,
                              const std::string& resource, const std::string& domain) {
  Element features = open_stream(domain);
  if (!secure()) {
    starttls();
    features = open_stream(domain);
  }
  std::string plain = std::string(1, '\0') + user + std::string(1, '\0') + password;
  send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + auth::base64_encode(plain) + "</auth>");
  Element result = next();
  if (result.name() != "success") throw std::runtime_error("authentication failed: " + result.str());
  features = open_stream(domain);
  if (!features.child("bind", ns::kBind)) throw std::runtime_error("no bind feature");
  std::string bind = "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>";
  if (!resource.empty()) bind += "<resource>" + resource + "</resource>";
  send(bind + "</bind></iq>");
  Element reply = next_named("iq");
  const Element* b = reply.child("bind", ns::kBind);
  if (reply.attr_or("type") != "result" || !b) throw std::runtime_error("bind failed: " + reply.str());
  return b->child_text("jid", ns::kBind);
}

}  // namespace xmppd::test

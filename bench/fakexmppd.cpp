// fakexmppd: the most trivial XMPP "server" xmppbench can talk to, used to calibrate the
// generator (what it can push from one core when the server costs almost nothing).
//
// It accepts every account whose password is the one given (SCRAM-SHA-1 with a fixed salt,
// so the server signature is right), binds the requested resource, ignores presence and IQs,
// and forwards each <message to='full JID'> byte for byte to that session, coalescing writes
// per connection. No XML parser, no routing rules, no storage: NOT a server, a mirror.
// Loopback only; runs until killed or until --seconds elapse.

#include <boost/asio.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "scram_client.hpp"
#include "xml_scan.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using bench::Ev;

namespace {

struct Conn {
  explicit Conn(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  std::unique_ptr<char[]> rbuf;
  size_t rcap = 0, rlen = 0, scan = 0, elem_start = 0;
  int depth = 0;
  std::string out, sending, jid;
  bool writing = false, dirty = false, dead = false;
};

class Fake {
 public:
  Fake(int port, std::string password, double seconds)
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port))),
        stop_(io_) {
    salt_ = "fakexmppd-salt-0";
    unsigned char salted[20];
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt_.data()), static_cast<int>(salt_.size()), 4096,
                      EVP_sha1(), 20, salted);
    unsigned int len = 0;
    HMAC(EVP_sha1(), salted, 20, reinterpret_cast<const unsigned char*>("Server Key"), 10, server_key_, &len);
    if (seconds > 0) {
      stop_.expires_after(std::chrono::milliseconds(static_cast<long long>(seconds * 1000)));
      stop_.async_wait([this](boost::system::error_code ec) {
        if (!ec) io_.stop();
      });
    }
  }

  void run() {
    std::cout << "fakexmppd listening on 127.0.0.1:" << acceptor_.local_endpoint().port() << std::endl;
    asio::co_spawn(io_, accept_loop(), asio::detached);
    io_.run();
  }

 private:
  awaitable<void> accept_loop() {
    for (std::uint64_t n = 0; n < 100'000'000; ++n) {
      auto c = std::make_shared<Conn>(io_);
      auto [ec] = co_await acceptor_.async_accept(c->sock, asio::as_tuple(use_awaitable));
      if (ec) co_return;
      c->sock.set_option(tcp::no_delay(true));
      asio::co_spawn(io_, session(c), asio::detached);
    }
  }

  void flush(const std::shared_ptr<Conn>& c) {
    if (c->writing || c->out.empty() || c->dead) return;
    c->writing = true;
    std::swap(c->out, c->sending);
    c->out.clear();
    auto done = [this, c](boost::system::error_code ec, size_t) {
      c->writing = false;
      c->sending.clear();
      if (ec) {
        c->dead = true;
        return;
      }
      flush(c);
    };
    asio::async_write(c->sock, asio::buffer(c->sending), done);
  }

  void send(const std::shared_ptr<Conn>& c, std::string_view s) {
    c->out.append(s);
    flush(c);
  }

  awaitable<void> read_more(Conn& c) {
    bench::compact(c);
    if (c.rcap - c.rlen < 1024) {
      size_t cap = std::max<size_t>(c.rcap * 2, 16384);
      if (cap > (16u << 20)) throw std::runtime_error("element too large");
      auto nb = std::make_unique<char[]>(cap);
      if (c.rlen) std::memcpy(nb.get(), c.rbuf.get(), c.rlen);
      c.rbuf = std::move(nb);
      c.rcap = cap;
    }
    size_t n = co_await c.sock.async_read_some(asio::buffer(c.rbuf.get() + c.rlen, c.rcap - c.rlen), use_awaitable);
    c.rlen += n;
  }

  awaitable<std::string> next(Conn& c) {
    for (int reads = 0; reads < 10000; ++reads) {
      std::string_view v;
      Ev e = bench::next_event(c, v);
      if (e == Ev::End) throw std::runtime_error("closed");
      if (e != Ev::None) co_return std::string(v);
      co_await read_more(c);
    }
    throw std::runtime_error("too many reads");
  }

  static std::string header(std::string_view features) {
    return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
           "xmlns:stream='http://etherx.jabber.org/streams' id='fake' from='localhost' version='1.0'>"
           "<stream:features>" + std::string(features) + "</stream:features>";
  }

  awaitable<void> session(std::shared_ptr<Conn> c) {
    try {
      co_await next(*c);  // stream header
      send(c, header("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism>"
                     "</mechanisms>"));
      std::string auth = co_await next(*c);
      auto first = bench::base64_decode(bench::inner_text(auth)).value_or("");
      auto bare_at = first.find("n=", 1);
      auto r_at = first.find(",r=");
      if (bare_at == std::string::npos || r_at == std::string::npos) throw std::runtime_error("bad auth");
      std::string user = first.substr(bare_at + 2, r_at - bare_at - 2);
      std::string first_bare = first.substr(bare_at);
      std::string server_first = "r=" + first.substr(r_at + 3) + "fakenonce,s=" + bench::base64_encode(salt_) +
                                 ",i=4096";
      send(c, "<challenge xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + bench::base64_encode(server_first) +
                  "</challenge>");
      std::string response = co_await next(*c);
      auto final_msg = bench::base64_decode(bench::inner_text(response)).value_or("");
      auto p_at = final_msg.find(",p=");
      if (p_at == std::string::npos) throw std::runtime_error("bad response");
      std::string auth_message = first_bare + "," + server_first + "," + final_msg.substr(0, p_at);
      unsigned char sig[20];
      unsigned int len = 0;
      HMAC(EVP_sha1(), server_key_, 20, reinterpret_cast<const unsigned char*>(auth_message.data()),
           auth_message.size(), sig, &len);
      std::string v = "v=" + bench::base64_encode(std::string_view(reinterpret_cast<char*>(sig), 20));
      send(c, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + bench::base64_encode(v) + "</success>");
      c->depth = 0;
      co_await next(*c);  // restarted stream header
      send(c, header("<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>"));
      std::string bind = co_await next(*c);
      std::string resource(bench::child_text(bind, "<resource>", "</resource>"));
      c->jid = user + "@localhost/" + resource;
      sessions_[c->jid] = c;
      send(c, "<iq type='result' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>" + c->jid +
                  "</jid></bind></iq>");
      for (;;) {  // ends when the peer closes
        std::string_view el;
        for (Ev e; (e = bench::next_event(*c, el)) != Ev::None;) {
          if (e == Ev::End) throw std::runtime_error("closed");
          if (e == Ev::Element && el.starts_with("<message")) forward(el);
        }
        for (auto& d : dirty_) {
          d->dirty = false;
          flush(d);
        }
        dirty_.clear();
        co_await read_more(*c);
      }
    } catch (const std::exception&) {
    }
    c->dead = true;
    if (!c->jid.empty()) sessions_.erase(c->jid);
    boost::system::error_code ec;
    c->sock.close(ec);
  }

  void forward(std::string_view el) {
    auto to = bench::child_text(el.substr(0, el.find('>')), "to='", "'");
    auto it = sessions_.find(std::string(to));
    if (it == sessions_.end()) return;
    it->second->out.append(el);
    if (!it->second->dirty) {
      it->second->dirty = true;
      dirty_.push_back(it->second);
    }
  }

  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  asio::steady_timer stop_;
  std::string salt_;
  unsigned char server_key_[20];
  std::unordered_map<std::string, std::shared_ptr<Conn>> sessions_;
  std::vector<std::shared_ptr<Conn>> dirty_;
};

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  double seconds = 600;
  std::string password = "benchpass";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--password") password = argv[i + 1];
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else {
      std::cerr << "usage: fakexmppd --port P [--password P] [--seconds S (600)]\n";
      return 2;
    }
  }
  try {
    Fake fake(port, password, seconds);
    fake.run();
  } catch (const std::exception& e) {
    std::cerr << "fakexmppd: " << e.what() << "\n";
    return 1;
  }
}

// xmppbench: load generator for xmppd (and any XMPP server), on Boost.Asio.
//
// One thread, one io_context; every connection is a C++20 coroutine for its login, then a
// read loop. Writes are coalesced (one write per connection per batch of work) and incoming
// data is not parsed as XML: a small scanner finds complete top-level elements and the
// message handler only looks at the <body>. See docs/performance.md.
//
// Scenarios: login, idle, throughput, latency, muc (fan-out in one room), offline (store, then
// flush at login), presence (broadcast to rosters), pep-fanout (one account's PEP items to its
// contacts), pep-login (last PEP items at login), plus prime (log every account in once to
// fill the SCRAM key cache) and register (create the accounts in-band, XEP-0077). Every loop
// is bounded by a count or by the global deadline, which closes every socket and so ends every
// coroutine.

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <netinet/in.h>
#include <openssl/evp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "scram_client.hpp"
#include "xml_scan.hpp"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

using bench::Ev;
using bench::child_text;
using bench::compact;
using bench::inner_text;
using bench::next_event;

namespace {

// Options ------------------------------------------------------------------------------------

struct Options {
  std::string scenario = "login";
  std::string host = "127.0.0.1";
  int port = 5222;
  std::string domain = "localhost";
  std::string user_prefix = "bench";
  std::string password = "benchpass";
  int accounts = 0;        // distinct accounts; connection i logs in as prefix<i % accounts>
  int clients = 1000;      // login, idle, prime
  int pairs = 100;         // throughput, latency
  int window = 16;         // throughput: outstanding messages per sender
  double rate = 1000;      // latency: total messages per second
  double duration = 10;    // seconds measured (throughput, latency)
  double warmup = 1;       // seconds before measuring (throughput, latency)
  double settle = 2;       // idle: seconds to wait before sampling RSS
  double hold = 0;         // idle: seconds to keep the sessions after sampling
  int concurrency = 100;   // logins in flight
  int sources = 16;        // source addresses 127.0.0.2 ...
  int payload = 0;         // extra body bytes per message
  int server_pid = 0;
  bool tls = false;
  bool sm = false;         // stream management on every session: acks both ways every 5 stanzas
  bool websocket = false;  // XMPP over WebSocket (RFC 7395) to --port's /xmpp-websocket
  std::string cache;       // SCRAM key cache file
  double timeout = 0;      // overall limit in seconds; 0: derived from the scenario
  std::string label;
  std::string mech = "SCRAM-SHA-1";  // plaintext login: SCRAM-SHA-1 or PLAIN
  std::string room;        // muc: room JID (default bench@conference.<domain>)
  int senders = 1;         // muc: occupants posting; offline: online senders
  int messages = 50;       // offline: messages stored per receiver
  int contacts = 100;      // presence: roster size (users form groups of contacts + 1); pep-*: the hub's contacts
  int rounds = 5;          // presence: presence changes per user
  int nodes = 5;           // pep-login: PEP nodes each contact publishes to
  int logins = 200;        // pep-login: timed logins with the items, and as many without
  int first_account = 0;   // pep-*: the contacts are prefix<first_account>.., the hub the account after them
};

[[noreturn]] void usage(const char* msg = nullptr) {
  if (msg) std::cerr << "xmppbench: " << msg << "\n";
  std::cerr <<
      "usage: xmppbench --scenario login|idle|throughput|latency|muc|offline|presence|resume|pep-fanout|pep-login|\n"
      "                  prime|register [options]\n"
      "  --host A (127.0.0.1; loopback only)  --port P (5222)  --domain D (localhost)\n"
      "  --user-prefix S (bench)  --password P (benchpass)  --accounts N (default: one per connection)\n"
      "  --clients N (1000)  --concurrency C (100 logins in flight)  --sources S (16: 127.0.0.2..)\n"
      "  --pairs P (100)  --window K (16)  --rate R msg/s (1000)  --duration D s (10)  --warmup W s (1)\n"
      "  --payload BYTES (0)  --settle S (2)  --hold S (0)\n"
      "  --server-pid PID (sample its CPU and RSS)  --tls (STARTTLS + PLAIN instead of SCRAM-SHA-1)\n"
      "  --sm (XEP-0198 on every session: answers the server's <r/>, asks for an ack every 5 sent)\n"
      "  --websocket (XMPP over WebSocket, RFC 7395: --port is the HTTP listener; plain ws://)\n"
      "  --cache FILE (SCRAM key cache)  --timeout S (overall limit)  --label TEXT\n"
      "  --mech SCRAM-SHA-1|PLAIN (plaintext login mechanism)\n"
      "  muc: --clients N occupants  --senders S (1)  --window K  --room JID (bench@conference.<domain>)\n"
      "  offline: --clients R receivers  --senders S (1)  --messages M per receiver (50); accounts R.. send\n"
      "  presence: --clients N  --contacts C (100; groups of C+1 mutual contacts)  --rounds K (5)\n"
      "  resume: --clients N sessions (with --sm) drop their connections, get a message each, resume\n"
      "  pep-fanout: the hub publishes to one PEP node, keeping --window K publishes outstanding, to its\n"
      "    --contacts C (100) mutual contacts, all online with +notify caps\n"
      "  pep-login: the hub logs in and out --logins L (200) times, until the presence of its --contacts C (100)\n"
      "    (online) and the last item of each one's --nodes M (5) PEP nodes arrived; as many times with the\n"
      "    nodes deleted, until the presences arrived\n"
      "  pep-*: contacts are accounts <prefix>N..N+C-1, the hub N+C (--first-account N, 0)  --payload BYTES\n";
  std::exit(2);
}

Options parse_args(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + std::string(a)).c_str());
      return argv[++i];
    };
    auto num = [&]() -> double {
      std::string v = val();
      char* end = nullptr;
      double d = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end) usage(("not a number: " + v).c_str());
      return d;
    };
    if (a == "--scenario") o.scenario = val();
    else if (a == "--host") o.host = val();
    else if (a == "--port") o.port = static_cast<int>(num());
    else if (a == "--domain") o.domain = val();
    else if (a == "--user-prefix") o.user_prefix = val();
    else if (a == "--password") o.password = val();
    else if (a == "--accounts") o.accounts = static_cast<int>(num());
    else if (a == "--clients") o.clients = static_cast<int>(num());
    else if (a == "--pairs") o.pairs = static_cast<int>(num());
    else if (a == "--window") o.window = static_cast<int>(num());
    else if (a == "--rate") o.rate = num();
    else if (a == "--duration") o.duration = num();
    else if (a == "--warmup") o.warmup = num();
    else if (a == "--settle") o.settle = num();
    else if (a == "--hold") o.hold = num();
    else if (a == "--concurrency") o.concurrency = static_cast<int>(num());
    else if (a == "--sources") o.sources = static_cast<int>(num());
    else if (a == "--payload") o.payload = static_cast<int>(num());
    else if (a == "--server-pid") o.server_pid = static_cast<int>(num());
    else if (a == "--tls") o.tls = true;
    else if (a == "--sm") o.sm = true;
    else if (a == "--websocket") o.websocket = true;
    else if (a == "--cache") o.cache = val();
    else if (a == "--timeout") o.timeout = num();
    else if (a == "--label") o.label = val();
    else if (a == "--mech") o.mech = val();
    else if (a == "--room") o.room = val();
    else if (a == "--senders") o.senders = static_cast<int>(num());
    else if (a == "--messages") o.messages = static_cast<int>(num());
    else if (a == "--contacts") o.contacts = static_cast<int>(num());
    else if (a == "--rounds") o.rounds = static_cast<int>(num());
    else if (a == "--nodes") o.nodes = static_cast<int>(num());
    else if (a == "--logins") o.logins = static_cast<int>(num());
    else if (a == "--first-account") o.first_account = static_cast<int>(num());
    else if (a == "-h" || a == "--help") usage();
    else usage(("unknown option " + std::string(a)).c_str());
  }
  static const char* scenarios[] = {"login",    "idle",       "throughput", "latency", "muc",     "resume",
                                    "offline",  "presence",   "pep-fanout", "pep-login", "prime", "register"};
  if (std::find_if(std::begin(scenarios), std::end(scenarios), [&](const char* s) { return o.scenario == s; }) ==
      std::end(scenarios))
    usage("unknown scenario");
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec || !addr.is_loopback()) usage("--host must be a loopback address");
  if (o.clients < 1 || o.clients > 1'000'000) usage("--clients out of range");
  if (o.pairs < 1 || o.pairs > 500'000) usage("--pairs out of range");
  if (o.window < 1 || o.window > 100'000) usage("--window out of range");
  if (o.rate <= 0 || o.rate > 10'000'000) usage("--rate out of range");
  if (o.duration <= 0 || o.duration > 3600 || o.warmup < 0 || o.warmup > 600) usage("--duration/--warmup out of range");
  if (o.concurrency < 1) o.concurrency = 1;
  if (o.sources < 1 || o.sources > 60000) usage("--sources out of range");
  if (o.payload < 0 || o.payload > 100'000) usage("--payload out of range");
  if (o.settle < 0 || o.settle > 600 || o.hold < 0 || o.hold > 3600) usage("--settle/--hold out of range");
  if (o.mech != "SCRAM-SHA-1" && o.mech != "PLAIN") usage("--mech must be SCRAM-SHA-1 or PLAIN");
  if (o.senders < 1 || o.senders > 100'000) usage("--senders out of range");
  if (o.messages < 1 || o.messages > 100'000) usage("--messages out of range");
  if (o.contacts < 1 || o.contacts > 10'000) usage("--contacts out of range");
  if (o.rounds < 1 || o.rounds > 10'000) usage("--rounds out of range");
  if (o.nodes < 1 || o.nodes > 100) usage("--nodes out of range");
  if (o.logins < 1 || o.logins > 100'000) usage("--logins out of range");
  if (o.first_account < 0 || o.first_account > 10'000'000) usage("--first-account out of range");
  if (o.room.empty()) o.room = "bench@conference." + o.domain;
  if (o.websocket && o.tls) usage("--websocket is plain ws:// (no --tls)");
  if (o.scenario == "muc" && o.senders > o.clients) usage("--senders must not exceed --clients");
  return o;
}

// /proc sampling -------------------------------------------------------------------------------

// utime + stime of a process, in seconds; nullopt when it cannot be read.
std::optional<double> cpu_seconds(int pid) {
  std::string path = pid ? "/proc/" + std::to_string(pid) + "/stat" : "/proc/self/stat";
  std::ifstream in(path);
  std::string s;
  if (!in || !std::getline(in, s)) return std::nullopt;
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return std::nullopt;
  std::istringstream fields(s.substr(rp + 2));  // starts at field 3 (state)
  std::string f;
  unsigned long long utime = 0, stime = 0;
  for (int field = 3; field <= 15 && fields >> f; ++field) {
    if (field == 14) utime = std::stoull(f);
    if (field == 15) stime = std::stoull(f);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// VmRSS in KB; nullopt when it cannot be read.
std::optional<long> rss_kb(int pid) {
  std::string path = pid ? "/proc/" + std::to_string(pid) + "/status" : "/proc/self/status";
  std::ifstream in(path);
  std::string line;
  for (int n = 0; n < 200 && std::getline(in, line); ++n)
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  return std::nullopt;
}

// One-minute load average of the machine: other work competing for the two cores.
std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string first;
  if (!(in >> first)) return "?";
  return first;
}

struct CpuMark {
  Clock::time_point at = Clock::now();
  std::optional<double> server = std::nullopt, self = std::nullopt;
};

CpuMark cpu_mark(int server_pid) {
  CpuMark m;
  m.at = Clock::now();
  if (server_pid) m.server = cpu_seconds(server_pid);
  m.self = cpu_seconds(0);
  return m;
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// Entity capabilities (XEP-0115) for PEP -------------------------------------------------------

// A PEP server notifies a resource of a node only if its presence announced caps whose
// features include "<node>+notify". It asks one resource per 'ver' what the caps mean
// (disco#info) and believes the answer only if it hashes to that 'ver' (§5.1), so every
// subscriber answers that query, with one identity (client/pc) and these features.
struct Caps {
  std::string ver;       // base64 of the SHA-1 of "client/pc//<" and each sorted feature + "<"
  std::string query;     // the disco#info answer's children, which hash to `ver`
  std::string presence;  // the initial presence announcing them
};

constexpr std::string_view kCapsNode = "urn:xmpp:bench";

Caps make_caps(std::vector<std::string> features) {
  features.push_back("http://jabber.org/protocol/caps");
  features.push_back("http://jabber.org/protocol/disco#info");
  std::sort(features.begin(), features.end());
  Caps caps;
  std::string s = "client/pc//<";
  caps.query = "<identity category='client' type='pc'/>";
  for (const auto& f : features) {
    s.append(f).append("<");
    caps.query.append("<feature var='").append(f).append("'/>");
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), digest, &len, EVP_sha1(), nullptr);
  caps.ver = bench::base64_encode(std::string_view(reinterpret_cast<const char*>(digest), len));
  caps.presence = "<presence><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='" + std::string(kCapsNode) +
                  "' ver='" + caps.ver + "'/></presence>";
  return caps;
}

// Connection ---------------------------------------------------------------------------------

struct Conn {
  explicit Conn(asio::io_context& io) : sock(io) {}
  int idx = 0;
  tcp::socket sock;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;
  // Read side: raw bytes and the scanner's state.
  std::unique_ptr<char[]> rbuf;
  size_t rcap = 0, rlen = 0, scan = 0, elem_start = 0;
  int depth = 0;
  // Write side: `out` collects, `sending` is in flight.
  std::string out, sending;
  bool writing = false, dirty = false, dead = false, ready = false;
  std::string user, jid;
  Clock::time_point login_started;
  // Scenario state.
  bool joined = false;    // muc: our own occupant presence (status 110) arrived
  int roster_both = -1;   // presence: roster items with subscription 'both' (-1: no answer yet)
  const Caps* caps = nullptr;  // pep-*: announced in the initial presence
  std::uint64_t events = 0;    // pep-*: PEP notifications received
  // Stream management (--sm): stanzas handled, and sent since our last <r/>.
  std::uint32_t sm_handled = 0;
  int sm_unrequested = 0;
  std::string sm_id;      // resumable stream's id; set on a connection that resumes instead of binding
  bool resuming = false;
  // --websocket: frames read and not yet decoded into rbuf, and this connection's mask.
  std::string ws_in;
  unsigned char mask[4] = {0, 0, 0, 0};
};

// WebSocket (RFC 6455) for --websocket ---------------------------------------------------------

// Each top-level element of `xml` (our own output: well-formed, no '>' in attribute values)
// as one masked text frame, as RFC 7395 wants one element per message.
void ws_frame_elements(std::string_view xml, const unsigned char mask[4], std::string& out) {
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; (i = xml.find('<', i)) != std::string_view::npos;) {
    const size_t gt = xml.find('>', i);
    if (gt == std::string_view::npos) break;
    if (xml[i + 1] == '/') --depth;
    else if (xml[gt - 1] != '/') ++depth;
    i = gt + 1;
    if (depth != 0) continue;
    const std::string_view element = xml.substr(start, i - start);
    start = i;
    out += char(0x81);
    if (element.size() < 126) {
      out += char(0x80 | element.size());
    } else if (element.size() <= 0xFFFF) {
      out += char(0x80 | 126);
      out += char(element.size() >> 8);
      out += char(element.size() & 0xFF);
    } else {
      out += char(0x80 | 127);
      for (int b = 7; b >= 0; --b) out += char((std::uint64_t(element.size()) >> (8 * b)) & 0xFF);
    }
    out.append(reinterpret_cast<const char*>(mask), 4);
    const size_t at = out.size();
    out.append(element);
    for (size_t k = 0; k < element.size(); ++k) out[at + k] = char(out[at + k] ^ mask[k & 3]);
  }
}

// Decodes the complete server frames at the front of `in` into `sink` (the byte stream the
// scanner reads): <open/> becomes a stream header and <close/> the stream's end, so the rest
// of the generator sees a stream as over TCP. Returns the bytes consumed.
template <class Sink>
size_t ws_decode(std::string_view in, Sink&& sink) {
  size_t used = 0;
  while (in.size() - used >= 2) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data() + used);
    size_t head = 2, size = p[1] & 0x7F;
    if (size == 126) {
      if (in.size() - used < 4) break;
      size = (size_t(p[2]) << 8) | p[3];
      head = 4;
    } else if (size == 127) {
      if (in.size() - used < 10) break;
      size = 0;
      for (int b = 0; b < 8; ++b) size = (size << 8) | p[2 + b];
      head = 10;
    }
    if (in.size() - used < head + size) break;
    const std::string_view payload = in.substr(used + head, size);
    const int opcode = p[0] & 0x0F;
    used += head + size;
    if (opcode == 8) sink("</stream:stream>");  // close frame
    else if (opcode != 1) continue;             // pings and pongs: nothing for the scanner
    else if (payload.starts_with("<open ")) sink("<stream:stream>");
    else if (payload.starts_with("<close ")) sink("</stream:stream>");
    else sink(payload);
  }
  return used;
}

// Value of attribute `name` in the start tag of `el` (either quote); empty when absent.
std::string_view attr(std::string_view el, std::string_view name) {
  const std::string_view tag = el.substr(0, el.find('>'));
  for (size_t at = 0; (at = tag.find(name, at)) != std::string_view::npos; at += name.size()) {
    const size_t eq = at + name.size();
    if (at == 0 || tag[at - 1] != ' ' || eq + 1 >= tag.size() || tag[eq] != '=') continue;
    const char q = tag[eq + 1];
    if (q != '\'' && q != '"') continue;
    const size_t end = tag.find(q, eq + 2);
    if (end == std::string_view::npos) return {};
    return tag.substr(eq + 2, end - eq - 2);
  }
  return {};
}

// Text of the first <body> child, whatever attributes it carries (xml:lang, ...).
std::string_view body_text(std::string_view el) {
  auto s = el.find("<body");
  if (s == std::string_view::npos) return {};
  s = el.find('>', s);
  if (s == std::string_view::npos || el[s - 1] == '/') return {};
  auto e = el.find("</body>", s);
  return e == std::string_view::npos ? std::string_view() : el.substr(s + 1, e - s - 1);
}

bool is_type(std::string_view el, std::string_view type) { return attr(el, "type") == type; }

std::string_view bare(std::string_view jid) { return jid.substr(0, jid.find('/')); }

size_t count_of(std::string_view s, std::string_view what) {
  size_t n = 0;
  for (size_t at = 0; (at = s.find(what, at)) != std::string_view::npos; at += what.size()) ++n;
  return n;
}

// Latency statistics ------------------------------------------------------------------------

struct Percentiles {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;  // milliseconds
};

Percentiles percentiles(std::vector<std::int64_t>& ns) {
  Percentiles p;
  if (ns.empty()) return p;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) { return double(ns[std::min(ns.size() - 1, size_t(q * double(ns.size())))]) / 1e6; };
  p.p50 = at(0.50);
  p.p90 = at(0.90);
  p.p99 = at(0.99);
  p.max = double(ns.back()) / 1e6;
  return p;
}

// The generator ------------------------------------------------------------------------------

class Bench {
 public:
  explicit Bench(Options o)
      : opt_(std::move(o)), ssl_(ssl::context::tls_client), launch_wake_(io_), main_wake_(io_), deadline_(io_) {
    ssl_.set_verify_mode(ssl::verify_none);  // loopback benchmark against a self-signed certificate
    SSL_CTX_set_mode(ssl_.native_handle(), SSL_MODE_RELEASE_BUFFERS);
    server_ep_ = tcp::endpoint(asio::ip::make_address(opt_.host), static_cast<unsigned short>(opt_.port));
    if (!opt_.cache.empty()) cache_.load(opt_.cache);
    header_ = opt_.websocket ? "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='" + opt_.domain + "' version='1.0'/>"
                             : "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                               "xmlns:stream='http://etherx.jabber.org/streams' to='" + opt_.domain + "' version='1.0'>";
  }

  int run() {
    asio::co_spawn(io_, main_task(), [this](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          std::cerr << "xmppbench: " << ex.what() << "\n";
          exit_code_ = 1;
        }
      }
      shutdown();
    });
    io_.run();
    if (!opt_.cache.empty() && cache_.dirty()) cache_.save(opt_.cache);
    return exit_code_;
  }

 private:
  // Plumbing ----------------------------------------------------------------------------------

  awaitable<void> sleep_for(Clock::duration d) {
    asio::steady_timer t(io_);
    t.expires_after(d);
    co_await t.async_wait(asio::as_tuple(use_awaitable));
  }

  // Waits (bounded by `limit`) until cond() holds; false on timeout or abort.
  template <class F>
  awaitable<bool> wait_until(const F& cond, Clock::time_point limit) {
    for (int spins = 0; spins < 10'000'000; ++spins) {
      if (cond()) co_return true;
      auto now = Clock::now();
      if (now >= limit || aborting_) co_return false;
      main_wake_.expires_after(std::min<Clock::duration>(50ms, limit - now));
      co_await main_wake_.async_wait(asio::as_tuple(use_awaitable));
    }
    co_return false;
  }

  void notify() {
    launch_wake_.cancel();
    main_wake_.cancel();
  }

  void shutdown() {
    aborting_ = true;
    deadline_.cancel();
    launch_wake_.cancel();
    main_wake_.cancel();
    for (auto& c : conns_) close(*c);
  }

  void close(Conn& c) {
    if (c.dead) return;
    c.dead = true;
    boost::system::error_code ec;
    c.sock.close(ec);
  }

  void queue(Conn& c, std::string_view s) {
    c.out.append(s);
    if (!c.dirty) {
      c.dirty = true;
      dirty_.push_back(&c);
    }
  }

  void flush(Conn& c) {
    if (c.writing || c.out.empty() || c.dead) return;
    c.writing = true;
    if (opt_.websocket) {
      c.sending.clear();
      ws_frame_elements(c.out, c.mask, c.sending);
    } else {
      std::swap(c.out, c.sending);
    }
    c.out.clear();
    ++writes_;
    auto done = [this, &c](boost::system::error_code ec, size_t) {
      c.writing = false;
      c.sending.clear();
      if (ec) {
        close(c);
        return;
      }
      flush(c);
    };
    if (c.tls)
      asio::async_write(*c.tls, asio::buffer(c.sending), done);
    else
      asio::async_write(c.sock, asio::buffer(c.sending), done);
  }

  void flush_dirty() {
    for (size_t i = 0; i < dirty_.size(); ++i) {  // flush() never adds to dirty_
      dirty_[i]->dirty = false;
      flush(*dirty_[i]);
    }
    dirty_.clear();
  }

  void send_now(Conn& c, std::string_view s) {
    c.out.append(s);
    flush(c);
  }

  awaitable<void> read_more(Conn& c) {
    compact(c);
    if (c.rcap - c.rlen < 512) {
      size_t cap = std::max<size_t>(c.rcap * 2, 4096);
      if (cap > (16u << 20)) throw std::runtime_error("element larger than 16 MB");
      auto nb = std::make_unique<char[]>(cap);
      if (c.rlen) std::memcpy(nb.get(), c.rbuf.get(), c.rlen);
      c.rbuf = std::move(nb);
      c.rcap = cap;
    }
    if (opt_.websocket) co_return co_await read_frames(c);
    auto buf = asio::buffer(c.rbuf.get() + c.rlen, c.rcap - c.rlen);
    size_t n = c.tls ? co_await c.tls->async_read_some(buf, use_awaitable)
                     : co_await c.sock.async_read_some(buf, use_awaitable);
    ++reads_;
    const bool filled = n == c.rcap - c.rlen;
    c.rlen += n;
    if (filled && c.rcap < 65536) {  // a busy connection gets a bigger buffer: fewer reads
      auto nb = std::make_unique<char[]>(c.rcap * 2);
      std::memcpy(nb.get(), c.rbuf.get(), c.rlen);
      c.rbuf = std::move(nb);
      c.rcap *= 2;
    }
  }

  // --websocket: reads frames and decodes what is complete into rbuf.
  awaitable<void> read_frames(Conn& c) {
    // Into the connection's own buffer: reads of many connections complete in one batch.
    const size_t had = c.ws_in.size();
    c.ws_in.resize(had + 16 * 1024);
    const size_t n = co_await c.sock.async_read_some(asio::buffer(c.ws_in.data() + had, 16 * 1024), use_awaitable);
    c.ws_in.resize(had + n);
    ++reads_;
    const size_t used = ws_decode(c.ws_in, [&c](std::string_view bytes) {
      if (c.rcap - c.rlen < bytes.size()) {
        size_t cap = std::max(c.rcap * 2, c.rlen + bytes.size() + 4096);
        auto nb = std::make_unique<char[]>(cap);
        if (c.rlen) std::memcpy(nb.get(), c.rbuf.get(), c.rlen);
        c.rbuf = std::move(nb);
        c.rcap = cap;
      }
      std::memcpy(c.rbuf.get() + c.rlen, bytes.data(), bytes.size());
      c.rlen += bytes.size();
    });
    c.ws_in.erase(0, used);
  }

  // --websocket: the HTTP upgrade to an RFC 7395 WebSocket; bytes after the 101 are frames.
  awaitable<void> upgrade(Conn& c) {
    for (auto& b : c.mask) b = static_cast<unsigned char>(rng_() | 1);
    const std::string request = "GET /xmpp-websocket HTTP/1.1\r\nHost: " + opt_.domain +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                                "Sec-WebSocket-Protocol: xmpp\r\n\r\n";
    co_await asio::async_write(c.sock, asio::buffer(request), use_awaitable);  // not framed
    std::string response;
    for (int reads = 0; response.find("\r\n\r\n") == std::string::npos; ++reads) {
      if (reads > 100) throw std::runtime_error("no HTTP response to the upgrade");
      char raw[4096];
      response.append(raw, co_await c.sock.async_read_some(asio::buffer(raw), use_awaitable));
    }
    if (!response.starts_with("HTTP/1.1 101")) throw std::runtime_error("upgrade refused: " + response.substr(0, 200));
    c.ws_in = response.substr(response.find("\r\n\r\n") + 4);
  }

  // Next header/element during login, as a copy; bounded in reads.
  awaitable<std::pair<Ev, std::string>> next(Conn& c) {
    for (int reads = 0; reads < 10000; ++reads) {
      std::string_view v;
      Ev e = next_event(c, v);
      if (e == Ev::End) throw std::runtime_error("stream closed by the server");
      if (e != Ev::None) co_return std::pair<Ev, std::string>{e, std::string(v)};
      co_await read_more(c);
    }
    throw std::runtime_error("too many reads");
  }

  awaitable<std::string> expect(Conn& c, std::string_view prefix) {
    for (int skipped = 0; skipped < 16; ++skipped) {
      auto [ev, el] = co_await next(c);
      if (ev == Ev::Element && el.starts_with(prefix)) co_return el;
      if (el.starts_with("<failure") || el.starts_with("<stream:error") || el.starts_with("<error"))
        throw std::runtime_error("server said: " + el.substr(0, 300));
    }
    throw std::runtime_error("expected " + std::string(prefix));
  }

  awaitable<void> expect_header(Conn& c) {
    auto [ev, el] = co_await next(c);
    if (ev != Ev::Header) throw std::runtime_error("expected a stream header, got " + el.substr(0, 200));
  }

  std::string nonce() {
    static const char* digits = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    std::string s(24, 'x');
    for (auto& ch : s) ch = digits[rng_() % 62];
    return s;
  }

  // Connects from this connection's source address and opens the stream (up to the features).
  awaitable<void> open_stream(Conn& c) {
    const auto src = asio::ip::address_v4(0x7F000002u + static_cast<std::uint32_t>(c.idx % opt_.sources));
    c.sock.open(tcp::v4());
    int one = 1;
    ::setsockopt(c.sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    c.sock.bind(tcp::endpoint(src, 0));
    co_await c.sock.async_connect(server_ep_, use_awaitable);
    c.sock.set_option(tcp::no_delay(true));
    if (opt_.websocket) co_await upgrade(c);
    send_now(c, header_);
    co_await expect_header(c);
    co_await expect(c, "<stream:features");
  }

  // In-band registration (XEP-0077) of this connection's account; an existing one is fine.
  awaitable<void> register_account(Conn& c) {
    co_await open_stream(c);
    send_now(c, "<iq type='set' id='reg1'><query xmlns='jabber:iq:register'><username>" + c.user +
                    "</username><password>" + opt_.password + "</password></query></iq>");
    std::string answer = co_await expect(c, "<iq");
    if (!is_type(answer, "result") && answer.find("<conflict") == std::string::npos)
      throw std::runtime_error("registration refused: " + answer.substr(0, 300));
  }

  // Login: connect, stream, (STARTTLS + PLAIN | SCRAM-SHA-1 | PLAIN), restart, bind, presence.
  awaitable<void> login(Conn& c) {
    c.login_started = Clock::now();
    if (opt_.scenario == "register") {
      co_await register_account(c);
      co_return;
    }
    co_await open_stream(c);
    if (opt_.tls) {
      send_now(c, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
      co_await expect(c, "<proceed");
      c.rlen = c.scan = 0;
      c.depth = 0;
      c.tls = std::make_unique<ssl::stream<tcp::socket&>>(c.sock, ssl_);
      co_await c.tls->async_handshake(ssl::stream_base::client, use_awaitable);
      send_now(c, header_);
      co_await expect_header(c);
      co_await expect(c, "<stream:features");
      std::string plain = std::string(1, '\0') + c.user + '\0' + opt_.password;
      send_now(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + bench::base64_encode(plain) +
                      "</auth>");
      co_await expect(c, "<success");
    } else if (opt_.mech == "PLAIN") {
      std::string plain = std::string(1, '\0') + c.user + '\0' + opt_.password;
      send_now(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" + bench::base64_encode(plain) +
                      "</auth>");
      co_await expect(c, "<success");
    } else {
      bench::ScramClient scram(c.user, opt_.password, nonce());
      send_now(c, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-1'>" +
                      bench::base64_encode(scram.client_first()) + "</auth>");
      std::string challenge = co_await expect(c, "<challenge");
      auto server_first = bench::base64_decode(inner_text(challenge));
      if (!server_first) throw std::runtime_error("bad challenge");
      auto final_msg = scram.client_final(*server_first, cache_);
      if (!final_msg) throw std::runtime_error("bad server-first-message");
      send_now(c, "<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + bench::base64_encode(*final_msg) +
                      "</response>");
      std::string success = co_await expect(c, "<success");
      auto server_final = bench::base64_decode(inner_text(success));
      if (!server_final || !scram.verify_server_final(*server_final))
        throw std::runtime_error("server signature did not verify");
    }
    c.depth = 0;  // stream restart: the next header opens a new stream
    send_now(c, header_);
    co_await expect_header(c);
    co_await expect(c, "<stream:features");
    if (c.resuming) {  // XEP-0198 §5: the previous session, instead of a new one
      send_now(c, "<resume xmlns='urn:xmpp:sm:3' previd='" + c.sm_id + "' h='" + std::to_string(c.sm_handled) + "'/>");
      co_await expect(c, "<resumed");
      co_return;
    }
    send_now(c, "<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>r" +
                    std::to_string(c.idx) + "</resource></bind></iq>");
    std::string bound = co_await expect(c, "<iq");
    if (bound.find("type='result'") == std::string::npos && bound.find("type=\"result\"") == std::string::npos)
      throw std::runtime_error("bind failed: " + bound.substr(0, 300));
    c.jid = std::string(child_text(bound, "<jid>", "</jid>"));
    if (c.jid.empty()) throw std::runtime_error("bind result without a jid");
    if (opt_.sm) {
      send_now(c, "<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
      c.sm_id = std::string(attr(co_await expect(c, "<enabled"), "id"));
    }
    send_now(c, c.caps ? std::string_view(c.caps->presence) : std::string_view("<presence/>"));
  }

  // One connection: login, then read and dispatch until the socket closes.
  awaitable<void> session(Conn& c) {
    bool ok = false;
    try {
      co_await login(c);
      ok = true;
    } catch (const std::exception& e) {
      if (failed_++ < 5) std::cerr << "xmppbench: login " << c.user << " failed: " << e.what() << "\n";
    }
    --in_flight_;
    if (!ok) {
      close(c);
      notify();
      co_return;
    }
    c.ready = true;
    ++ready_;
    login_ns_.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - c.login_started).count());
    notify();
    if (opt_.scenario == "register") {  // nothing more to do on this connection
      c.ready = false;
      close(c);
      co_return;
    }
    try {
      for (;;) {  // ends when the socket is closed (scenario end or deadline)
        std::string_view v;
        for (Ev e; (e = next_event(c, v)) != Ev::None;) {
          if (e == Ev::End) throw std::runtime_error("stream closed");
          if (e != Ev::Element) continue;
          if (opt_.sm && on_stream_management(c, v)) continue;
          on_element(c, v);
        }
        flush_dirty();
        co_await read_more(c);
      }
    } catch (const std::exception&) {
    }
    if (c.ready && !aborting_ && !closing_) ++dropped_;
    close(c);
    notify();  // a logout waits for the server to close the stream
  }

  // Starts sessions [first, first + count) with at most `concurrency` logins in flight.
  awaitable<void> launch(int first, int count) {
    for (int i = first; i < first + count && !aborting_; ++i) {
      for (int spins = 0; in_flight_ >= opt_.concurrency && !aborting_ && spins < 10'000'000; ++spins) {
        launch_wake_.expires_after(50ms);
        co_await launch_wake_.async_wait(asio::as_tuple(use_awaitable));
      }
      if (aborting_) break;
      ++in_flight_;
      ++launched_;
      asio::co_spawn(io_, session(*conns_[static_cast<size_t>(i)]), asio::detached);
    }
  }

  void make_conns(int n) {
    conns_.reserve(static_cast<size_t>(n));
    const int accounts = opt_.accounts > 0 ? opt_.accounts : n;
    for (int i = 0; i < n; ++i) {
      auto c = std::make_unique<Conn>(io_);
      c->idx = i;
      c->user = opt_.user_prefix + std::to_string(i % accounts);
      conns_.push_back(std::move(c));
    }
  }

  std::string bare_jid(const Conn& c) const { return c.user + "@" + opt_.domain; }

  // Logs in connections [first, first + count); returns the time it took.
  awaitable<Clock::duration> login_range(int first, int count, Clock::time_point limit) {
    auto t0 = Clock::now();
    const int target = ready_ + failed_ + count;
    asio::co_spawn(io_, launch(first, count), asio::detached);
    auto all_done = [this, target] { return ready_ + failed_ >= target; };
    co_await wait_until(all_done, limit);
    co_return Clock::now() - t0;
  }

  awaitable<Clock::duration> login_all(Clock::time_point limit) {
    co_return co_await login_range(0, static_cast<int>(conns_.size()), limit);
  }

  // Waits until `counter` reaches `target` or stops moving for `quiet` (bounded by `limit`).
  awaitable<void> wait_quiet(const std::uint64_t& counter, Clock::duration quiet, Clock::time_point limit,
                             std::uint64_t target = UINT64_MAX) {
    std::uint64_t last = counter;
    auto moved_at = Clock::now();
    for (int spins = 0; spins < 1'000'000 && !aborting_ && Clock::now() < limit && counter < target; ++spins) {
      co_await sleep_for(50ms);
      if (counter != last) {
        last = counter;
        moved_at = Clock::now();
      } else if (Clock::now() - moved_at >= quiet) {
        break;
      }
    }
  }

  // Messages ---------------------------------------------------------------------------------

  // Pair j: sender conns_[2j], receiver conns_[2j+1]. Body: "<pair> <send-ns>".
  void queue_message(size_t pair, std::int64_t ts) {
    Conn& s = *conns_[2 * pair];
    const Conn& r = *conns_[2 * pair + 1];
    char a[24], b[24];
    auto* pa = std::to_chars(a, a + sizeof a, pair).ptr;
    auto* pb = std::to_chars(b, b + sizeof b, ts).ptr;
    std::string& o = s.out;
    o.append("<message type='chat' to='").append(r.jid).append("'><body>").append(a, pa).append(" ").append(b, pb);
    if (!payload_.empty()) o.append(payload_);
    o.append("</body></message>");
    sm_sent(s);
    if (!s.dirty) {
      s.dirty = true;
      dirty_.push_back(&s);
    }
    ++sent_;
    ++outstanding_[pair];
  }

  // XEP-0198 as a client does it: count what arrives, answer <r/>, ignore <a/>. True for
  // a nonza (nothing more to do with it).
  bool on_stream_management(Conn& c, std::string_view el) {
    if (el.starts_with("<r ") || el.starts_with("<r/")) {
      char h[16];
      auto* e = std::to_chars(h, h + sizeof h, c.sm_handled).ptr;
      queue(c, std::string("<a xmlns='urn:xmpp:sm:3' h='").append(h, e).append("'/>"));
      return true;
    }
    if (el.starts_with("<a ")) return true;
    ++c.sm_handled;
    return false;
  }

  // After queueing a stanza on `c`: every 5th is followed by a request for an ack.
  void sm_sent(Conn& c) {
    if (!opt_.sm || ++c.sm_unrequested < 5) return;
    c.sm_unrequested = 0;
    c.out.append("<r xmlns='urn:xmpp:sm:3'/>");
  }

  void on_element(Conn& c, std::string_view el) {
    switch (scenario_) {
      case 'l':
      case 't': return on_pair_message(c, el);
      case 'm': return on_muc(c, el);
      case 'o': return on_offline(c, el);
      case 'p': return on_presence(c, el);
      case 'r': return on_resumed_message(c, el);
      case 'f':
      case 'g': return on_pep(c, el);
    }
  }

  // Resumption storm --------------------------------------------------------------------------

  // Receivers 0..N-1 enable resumable stream management and lose their connections; the
  // sender (connection N) sends each of them one message while they are away; then all of
  // them resume at once and must each get their message, once.
  awaitable<void> run_resume(Clock::time_point limit, long rss0) {
    const int receivers = opt_.clients;
    if (ready_ < receivers + 1) {
      result(" error=not_all_logged_in");
      co_return;
    }
    co_await sleep_for(200ms);  // the initial presences (and their echoes, counted in sm_handled) settle
    const long rss_live = opt_.server_pid ? rss_kb(opt_.server_pid).value_or(-1) : -1;
    for (int i = 0; i < receivers; ++i) {
      Conn& c = *conns_[static_cast<size_t>(i)];
      c.ready = false;  // not counted as dropped: we cut it
      boost::system::error_code ec;
      c.sock.shutdown(tcp::socket::shutdown_both, ec);
      close(c);
    }
    Conn& sender = *conns_[static_cast<size_t>(receivers)];
    for (int i = 0; i < receivers; ++i) {
      const Conn& c = *conns_[static_cast<size_t>(i)];
      queue(sender, "<message type='chat' to='" + c.jid + "'><body>resume " + std::to_string(i) + "</body></message>");
      ++sent_;
    }
    flush_dirty();
    co_await sleep_for(std::chrono::milliseconds(static_cast<long long>(opt_.settle * 1000)));
    const long rss_hibernated = opt_.server_pid ? rss_kb(opt_.server_pid).value_or(-1) : -1;

    for (int i = 0; i < receivers; ++i) {  // fresh connections for the same sessions
      const Conn& old = *conns_[static_cast<size_t>(i)];
      auto c = std::make_unique<Conn>(io_);
      c->idx = old.idx;
      c->user = old.user;
      c->jid = old.jid;
      c->sm_id = old.sm_id;
      c->sm_handled = old.sm_handled;
      c->resuming = true;
      conns_.push_back(std::move(c));
    }
    const CpuMark m0 = cpu_mark(opt_.server_pid);
    const auto took = co_await login_range(receivers + 1, receivers, limit);
    const CpuMark m1 = cpu_mark(opt_.server_pid);
    const int resumed = ready_ - (receivers + 1);
    co_await wait_quiet(received_, 2s, limit, std::uint64_t(receivers));
    const double s = seconds(took);
    const double rate = s > 0 ? resumed / s : 0;
    auto per = [&](long after, long before) { return after >= 0 && before >= 0 ? double(after - before) / receivers : -1; };
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  " sessions=%d resumed=%d resume_s=%.3f resumptions_per_s=%.0f delivered=%llu lost=%llu "
                  "kb_per_live_session=%.2f kb_per_hibernated_session=%.2f",
                  receivers, resumed, s, rate, (unsigned long long)received_,
                  (unsigned long long)(std::uint64_t(receivers) - std::min<std::uint64_t>(received_, receivers)),
                  per(rss_live, rss0), per(rss_hibernated, rss0));
    result(buf + cpu_fields(cpu_between(m0, m1), rate));
    if (resumed < receivers || received_ != std::uint64_t(receivers)) exit_code_ = 1;
  }

  void on_resumed_message(Conn& c, std::string_view el) {
    if (!c.resuming || !el.starts_with("<message")) return;
    if (body_text(el) == "resume " + std::to_string(c.idx)) ++received_;
    else ++misdelivered_;
  }

  void on_pair_message(Conn& c, std::string_view el) {
    if (!el.starts_with("<message")) return;
    auto body = child_text(el, "<body>", "</body>");
    if (body.empty()) return;
    size_t pair = 0;
    std::int64_t ts = 0;
    auto r1 = std::from_chars(body.data(), body.data() + body.size(), pair);
    if (r1.ec != std::errc() || r1.ptr == body.data() + body.size()) return;
    auto r2 = std::from_chars(r1.ptr + 1, body.data() + body.size(), ts);
    if (r2.ec != std::errc() || pair >= outstanding_.size()) return;
    const std::string_view start_tag = el.substr(0, el.find('>'));
    if (start_tag.find("type='error'") != std::string_view::npos ||
        start_tag.find("type=\"error\"") != std::string_view::npos) {
      ++bounced_;  // the server returned the message: counted as lost, not as delivered
      return;
    }
    if (&c != conns_[2 * pair + 1].get()) {
      ++misdelivered_;
      return;
    }
    ++received_;
    --outstanding_[pair];
    if (scenario_ == 'l') {
      if (ts >= measure_from_ns_ && ts < measure_to_ns_) latencies_.push_back(now_ns() - ts);
    } else if (scenario_ == 't' && sending_) {
      queue_message(pair, 0);
    }
  }


  // MUC ----------------------------------------------------------------------------------------

  std::string occupant_jid(const Conn& c) const { return opt_.room + "/n" + std::to_string(c.idx); }

  void join_room(Conn& c) {
    queue(c, "<presence to='" + occupant_jid(c) +
                 "'><x xmlns='http://jabber.org/protocol/muc'><history maxstanzas='0'/></x></presence>");
  }

  // Sender i's next groupchat message; body "m <sender> <send-ns>".
  void queue_groupchat(Conn& s) {
    char b[48];
    auto* e = std::to_chars(b, b + 20, s.idx).ptr;
    *e++ = ' ';
    e = std::to_chars(e, b + sizeof b, now_ns()).ptr;
    std::string& o = s.out;
    o.append("<message type='groupchat' to='").append(opt_.room).append("'><body>m ").append(b, e);
    if (!payload_.empty()) o.append(payload_);
    o.append("</body></message>");
    if (!s.dirty) {
      s.dirty = true;
      dirty_.push_back(&s);
    }
    ++sent_;
    ++outstanding_[static_cast<size_t>(s.idx)];
  }

  void on_muc(Conn& c, std::string_view el) {
    if (el.starts_with("<message")) {
      auto body = body_text(el);
      if (!body.starts_with("m ")) return;  // the subject, history, ...
      if (is_type(el, "error")) {
        ++bounced_;
        return;
      }
      size_t sender = 0;
      std::int64_t ts = 0;
      auto r1 = std::from_chars(body.data() + 2, body.data() + body.size(), sender);
      if (r1.ec != std::errc() || sender >= outstanding_.size()) return;
      std::from_chars(r1.ptr + 1, body.data() + body.size(), ts);
      ++received_;
      if (ts >= measure_from_ns_ && ts < measure_to_ns_ && (received_ & 15) == 0)
        latencies_.push_back(now_ns() - ts);  // one delivery in 16 is enough for percentiles
      if (&c == conns_[sender].get()) {  // the room reflected our own message: next one
        --outstanding_[sender];
        if (sending_) queue_groupchat(c);
      }
    } else if (el.starts_with("<presence")) {
      const auto from = attr(el, "from");
      if (!from.starts_with(opt_.room) || from.size() <= opt_.room.size() || from[opt_.room.size()] != '/') return;
      if (is_type(el, "error")) {
        if (muc_errors_++ < 3) std::cerr << "xmppbench: join refused: " << std::string(el.substr(0, 400)) << "\n";
        return;
      }
      ++muc_presences_;
      if (!c.joined && from == occupant_jid(c) && (el.find("code='110'") != std::string_view::npos ||
                                                    el.find("code=\"110\"") != std::string_view::npos)) {
        c.joined = true;
        ++joined_;
        if (el.find("code='201'") != std::string_view::npos || el.find("code=\"201\"") != std::string_view::npos) {
          // XEP-0045 §10.1.2: a new room stays locked until its owner accepts the defaults.
          need_config_ = true;
          queue(c, "<iq type='set' id='cfg1' to='" + opt_.room +
                       "'><query xmlns='http://jabber.org/protocol/muc#owner'><x xmlns='jabber:x:data' "
                       "type='submit'/></query></iq>");
        }
      }
      notify();
    } else if (el.starts_with("<iq") && attr(el, "id") == "cfg1") {
      if (is_type(el, "result")) configured_ = true;
      else std::cerr << "xmppbench: room configuration refused: " << std::string(el.substr(0, 400)) << "\n";
      notify();
    }
  }

  // Occupants join one room (the first creates it), then `senders` of them post groupchat
  // messages, each keeping `window` outstanding (the room's echo to the sender frees a slot).
  awaitable<void> run_muc(Clock::time_point limit) {
    const int n = static_cast<int>(conns_.size());
    outstanding_.assign(static_cast<size_t>(n), 0);
    payload_.assign(static_cast<size_t>(opt_.payload), 'x');
    if (ready_ < n) {
      result(" error=not_all_logged_in");
      co_return;
    }
    const auto t0 = Clock::now();
    join_room(*conns_[0]);
    flush_dirty();
    auto created = [this] { return joined_ >= 1 && (!need_config_ || configured_); };
    if (!co_await wait_until(created, std::min(limit, Clock::now() + 10s))) {
      result(" error=room_not_created");
      co_return;
    }
    for (int i = 1; i < n; ++i) join_room(*conns_[static_cast<size_t>(i)]);
    flush_dirty();
    auto all_joined = [this, n] { return joined_ >= n || muc_errors_ > 0; };
    co_await wait_until(all_joined, limit);
    // Every occupant receives every occupant's presence once: n * n in all.
    const std::uint64_t expected_presences = std::uint64_t(n) * std::uint64_t(n);
    auto presences_in = [this, expected_presences] { return muc_presences_ >= expected_presences; };
    co_await wait_until(presences_in, std::min(limit, Clock::now() + 30s));
    const double join_s = seconds(Clock::now() - t0);
    if (joined_ < n) {
      result(" error=not_all_joined joined=" + std::to_string(joined_));
      co_return;
    }
    co_await sleep_for(200ms);
    const auto start = Clock::now();
    const auto measure_from = start + std::chrono::milliseconds(static_cast<long long>(opt_.warmup * 1000));
    const auto measure_to = measure_from + std::chrono::milliseconds(static_cast<long long>(opt_.duration * 1000));
    measure_from_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(measure_from.time_since_epoch()).count();
    measure_to_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(measure_to.time_since_epoch()).count();
    sending_ = true;
    for (int s = 0; s < opt_.senders; ++s)
      for (int k = 0; k < opt_.window; ++k) queue_groupchat(*conns_[static_cast<size_t>(s)]);
    flush_dirty();
    co_await sleep_for(measure_from - Clock::now());
    const CpuMark a = cpu_mark(opt_.server_pid);
    const std::uint64_t recv_a = received_;
    co_await sleep_for(measure_to - Clock::now());
    const CpuMark b = cpu_mark(opt_.server_pid);
    const std::uint64_t recv_b = received_;
    sending_ = false;
    const std::uint64_t expected = sent_ * std::uint64_t(n);
    auto drained = [this, expected] { return received_ >= expected; };
    co_await wait_until(drained, std::min(limit, Clock::now() + 10s));
    const double wall = seconds(b.at - a.at);
    const double rate = wall > 0 ? double(recv_b - recv_a) / wall : 0;
    const std::uint64_t lost = expected > received_ ? expected - received_ : 0;
    auto p = percentiles(latencies_);
    std::snprintf(buf_, sizeof buf_,
                  " occupants=%d senders=%d window=%d join_s=%.2f seconds=%.1f deliveries_per_s=%.0f sent=%llu "
                  "received=%llu lost=%llu bounced=%llu p50_ms=%.3f p99_ms=%.3f",
                  n, opt_.senders, opt_.window, join_s, wall, rate, (unsigned long long)sent_,
                  (unsigned long long)received_, (unsigned long long)lost, (unsigned long long)bounced_, p.p50, p.p99);
    result(buf_ + cpu_fields(cpu_between(a, b), rate));
    if (lost > 0 || bounced_ > 0) exit_code_ = 1;
  }

  // Offline ------------------------------------------------------------------------------------

  void on_offline(Conn& c, std::string_view el) {
    if (el.starts_with("<message")) {
      auto body = body_text(el);
      if (!body.starts_with("o ")) return;
      if (is_type(el, "error")) {
        ++bounced_;
        return;
      }
      if (body.substr(2, run_id_.size()) != run_id_) {
        ++stale_;  // left over from an earlier run
        return;
      }
      ++received_;
      last_delivery_ = Clock::now();
      notify();
    } else if (el.starts_with("<iq") && attr(el, "id") == "sync1") {
      ++synced_;
      notify();
    }
    (void)c;
  }

  // Senders (accounts R..R+S-1) send M messages to each of R offline receivers' bare JIDs;
  // a ping round trip per sender marks the end of sending. After --settle seconds the
  // receivers log in (the initial presence triggers the flush) and count what arrives.
  awaitable<void> run_offline(Clock::time_point limit) {
    const int receivers = opt_.clients, senders = opt_.senders;
    run_id_ = nonce().substr(0, 8);
    co_await login_range(0, senders, limit);
    if (ready_ < senders) {
      result(" error=senders_not_logged_in");
      co_return;
    }
    const std::uint64_t total = std::uint64_t(receivers) * std::uint64_t(opt_.messages);
    const auto t0 = Clock::now();
    const CpuMark m0 = cpu_mark(opt_.server_pid);
    std::uint64_t k = 0;
    for (int r = 0; r < receivers; ++r) {
      const std::string to = bare_jid(*conns_[static_cast<size_t>(senders + r)]);
      for (int m = 0; m < opt_.messages; ++m, ++k) {
        Conn& s = *conns_[k % static_cast<std::uint64_t>(senders)];
        queue(s, "<message type='chat' to='" + to + "'><body>o " + run_id_ + " " + std::to_string(m) + payload_ +
                     "</body></message>");
        ++sent_;
      }
    }
    for (int i = 0; i < senders; ++i)
      queue(*conns_[static_cast<size_t>(i)], "<iq type='get' id='sync1' to='" + opt_.domain +
                                                 "'><ping xmlns='urn:xmpp:ping'/></iq>");
    flush_dirty();
    auto synced = [this, senders] { return synced_ >= senders; };
    co_await wait_until(synced, limit);
    const double accept_s = seconds(Clock::now() - t0);
    const CpuMark m1 = cpu_mark(opt_.server_pid);
    co_await sleep_for(std::chrono::milliseconds(static_cast<long long>(opt_.settle * 1000)));
    const auto t1 = Clock::now();
    const CpuMark m2 = cpu_mark(opt_.server_pid);
    co_await login_range(senders, receivers, limit);
    auto all_in = [this, total] { return received_ >= total; };
    co_await wait_until(all_in, std::min(limit, Clock::now() + 60s));
    const CpuMark m3 = cpu_mark(opt_.server_pid);
    const double flush_s = seconds((received_ ? last_delivery_ : Clock::now()) - t1);
    const std::uint64_t lost = total > received_ ? total - received_ : 0;
    std::snprintf(buf_, sizeof buf_,
                  " receivers=%d messages=%d senders=%d stored=%llu accept_s=%.3f accepted_per_s=%.0f "
                  "flush_s=%.3f flushed_per_s=%.0f received=%llu lost=%llu bounced=%llu stale=%llu",
                  receivers, opt_.messages, senders, (unsigned long long)total, accept_s,
                  accept_s > 0 ? double(total) / accept_s : 0, flush_s, flush_s > 0 ? double(received_) / flush_s : 0,
                  (unsigned long long)received_, (unsigned long long)lost, (unsigned long long)bounced_,
                  (unsigned long long)stale_);
    const auto u_store = cpu_between(m0, m1), u_flush = cpu_between(m2, m3);
    char cpu[160];
    std::snprintf(cpu, sizeof cpu, " store_server_cpu_pct=%.0f", u_store.server_pct);
    result(buf_ + std::string(cpu) + cpu_fields(u_flush, flush_s > 0 ? double(received_) / flush_s : -1));
    if (lost > 0 || bounced_ > 0) exit_code_ = 1;
  }

  // Presence broadcast -------------------------------------------------------------------------

  int group_of(const Conn& c) const { return c.idx / (opt_.contacts + 1); }

  void on_presence(Conn& c, std::string_view el) {
    if (el.starts_with("<presence")) {
      const auto type = attr(el, "type");
      const auto from = attr(el, "from");
      if (type == "subscribe") {  // approve every request: the seeding phase
        queue(c, "<presence type='subscribed' to='" + std::string(bare(from)) + "'/>");
        return;
      }
      if (type == "subscribed") {
        ++subscribed_;
        return;
      }
      if (!type.empty() || bare(from) == bare(c.jid)) return;
      ++presences_;
      auto status = child_text(el, "<status>", "</status>");
      if (status.starts_with("b") && status.substr(1) == round_tag_) {
        ++received_;
        notify();
      }
    } else if (el.starts_with("<iq") && attr(el, "id") == "roster1") {
      c.roster_both = static_cast<int>(count_of(el, "subscription='both'") + count_of(el, "subscription=\"both\""));
      ++rosters_;
      notify();
    }
  }

  // Asks every user for its roster; returns the smallest number of 'both' items.
  awaitable<int> min_roster_both(Clock::time_point limit) {
    rosters_ = 0;
    for (auto& c : conns_) {
      c->roster_both = -1;
      queue(*c, "<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
    }
    flush_dirty();
    // A server still storing the seeding's subscription changes answers late.
    auto answered = [this] { return rosters_ >= conns_.size(); };
    co_await wait_until(answered, std::min(limit, Clock::now() + 120s));
    int least = opt_.contacts;
    for (auto& c : conns_) least = std::min(least, c->roster_both);
    co_return least;
  }

  // Users form groups of contacts + 1 mutual contacts (subscription 'both', set up once in-band
  // and kept by the server). Each round, every user changes its presence (a new <status>) and
  // the round ends when every contact got it: users * contacts deliveries per round.
  awaitable<void> run_presence(Clock::time_point limit) {
    const int n = static_cast<int>(conns_.size());
    const int g = opt_.contacts + 1;
    if (ready_ < n) {
      result(" error=not_all_logged_in");
      co_return;
    }
    int both = co_await min_roster_both(limit);
    double seed_s = 0;
    if (both < opt_.contacts) {  // seed: everyone asks everyone in its group; everyone approves
      const auto t0 = Clock::now();
      for (auto& c : conns_)
        for (int j = group_of(*c) * g; j < (group_of(*c) + 1) * g && j < n; ++j)
          if (j != c->idx) queue(*c, "<presence type='subscribe' to='" + bare_jid(*conns_[static_cast<size_t>(j)]) + "'/>");
      flush_dirty();
      // Each user gets one 'subscribed' per contact; a server that stores every change
      // synchronously may take a while, so only a long silence ends the wait early.
      co_await wait_quiet(subscribed_, 60s, std::min(limit, Clock::now() + 300s),
                          std::uint64_t(n) * std::uint64_t(opt_.contacts));
      seed_s = seconds(Clock::now() - t0);
      both = co_await min_roster_both(limit);
      if (both < opt_.contacts) {
        result(" error=rosters_not_seeded min_both=" + std::to_string(both) + " subscribed=" +
               std::to_string(subscribed_) + " rosters_answered=" + std::to_string(rosters_));
        co_return;
      }
    }
    // Logins and subscriptions made presence traffic (probes, broadcasts): let it settle.
    co_await wait_quiet(presences_, 500ms, std::min(limit, Clock::now() + 30s));
    const std::uint64_t per_round = std::uint64_t(n) * std::uint64_t(opt_.contacts);
    const CpuMark a = cpu_mark(opt_.server_pid);
    int rounds = 0;
    for (; rounds < opt_.rounds && !aborting_; ++rounds) {
      round_tag_ = std::to_string(rounds);
      received_ = 0;
      for (auto& c : conns_) queue(*c, "<presence><status>b" + round_tag_ + "</status></presence>");
      sent_ += per_round;
      flush_dirty();
      auto round_done = [this, per_round] { return received_ >= per_round; };
      if (!co_await wait_until(round_done, std::min(limit, Clock::now() + 30s))) break;
      total_presence_ += received_;
    }
    const CpuMark b = cpu_mark(opt_.server_pid);
    if (rounds < opt_.rounds) total_presence_ += received_;
    const double wall = seconds(b.at - a.at);
    const double rate = wall > 0 ? double(total_presence_) / wall : 0;
    const std::uint64_t expected = per_round * std::uint64_t(opt_.rounds);
    const std::uint64_t lost = expected > total_presence_ ? expected - total_presence_ : 0;
    std::snprintf(buf_, sizeof buf_,
                  " users=%d contacts=%d rounds=%d seed_s=%.1f seconds=%.2f deliveries_per_s=%.0f received=%llu "
                  "lost=%llu",
                  n, opt_.contacts, opt_.rounds, seed_s, wall, rate, (unsigned long long)total_presence_,
                  (unsigned long long)lost);
    result(buf_ + cpu_fields(cpu_between(a, b), rate));
    if (lost > 0) exit_code_ = 1;
  }

  // PEP (XEP-0163) -----------------------------------------------------------------------------

  // Both PEP scenarios use a star: conns_[0], the hub, and its contacts conns_[1..n), on
  // accounts prefix<first_account + C> and prefix<first_account + i - 1>. The hub is the last
  // account so that, from account 0, it is one no other scenario logs in: it is left in every
  // contact's roster, where it must not receive what those scenarios count.
  static constexpr std::string_view kFanoutNode = "urn:xmpp:bench:fanout";
  static constexpr std::string_view kLoginNode = "urn:xmpp:bench:login:";  // + 0 .. nodes-1

  void setup_pep_conns() {
    const int n = static_cast<int>(conns_.size());
    std::vector<std::string> features;
    if (scenario_ == 'f') {
      features.push_back(std::string(kFanoutNode) + "+notify");
    } else {
      for (int k = 0; k < opt_.nodes; ++k) features.push_back(std::string(kLoginNode) + std::to_string(k) + "+notify");
    }
    pep_caps_ = make_caps(std::move(features));
    for (int i = 0; i < n; ++i) {
      Conn& c = *conns_[static_cast<size_t>(i)];
      c.user = opt_.user_prefix + std::to_string(opt_.first_account + (i == 0 ? n - 1 : i - 1));
      // pep-fanout: the contacts subscribe (the publisher does not, so it gets no copies);
      // pep-login: the hub subscribes to its contacts' nodes.
      if ((scenario_ == 'f') == (i > 0)) c.caps = &pep_caps_;
      if (i > 0) contact_index_[bare_jid(c)] = i;
    }
  }

  // disco#info about our caps, asked by the server (from the host) to learn what they mean.
  void answer_caps(Conn& c, std::string_view el) {
    const auto q = el.find("<query");
    const std::string_view node = q == std::string_view::npos ? std::string_view() : attr(el.substr(q), "node");
    std::string reply = "<iq type='result' id='" + std::string(attr(el, "id")) + "' to='" + std::string(attr(el, "from")) +
                        "'><query xmlns='http://jabber.org/protocol/disco#info'";
    if (!node.empty()) reply.append(" node='").append(node).append("'");
    queue(c, reply.append(">").append(pep_caps_.query).append("</query></iq>"));
  }

  void on_pep(Conn& c, std::string_view el) {
    if (el.starts_with("<message")) {
      if (el.find("pubsub#event") == std::string_view::npos) return;
      ++c.events;
      if (scenario_ == 'f') {
        ++received_;
        if (sending_ && (received_ & 15) == 0) {  // one delivery in 16 is enough for percentiles
          const auto end = el.find("</entry>");
          const auto start = end == std::string_view::npos ? end : el.rfind('>', end);
          std::int64_t ts = 0;
          if (start != std::string_view::npos && std::from_chars(el.data() + start + 1, el.data() + end, ts).ec == std::errc() &&
              ts >= measure_from_ns_ && ts < measure_to_ns_)
            latencies_.push_back(now_ns() - ts);
        }
      } else if (&c == timed_) {
        on_last_item(el);
      }
      return;
    }
    if (el.starts_with("<presence")) {
      const auto type = attr(el, "type");
      const auto from = attr(el, "from");
      if (type == "subscribe") {  // approve every request: the seeding
        queue(c, "<presence type='subscribed' to='" + std::string(bare(from)) + "'/>");
      } else if (type == "subscribed") {
        ++subscribed_;
      } else if (type.empty()) {
        ++presences_;
        if (&c == timed_) {
          auto it = contact_index_.find(std::string(bare(from)));
          if (it != contact_index_.end()) timed_saw(static_cast<size_t>(it->second - 1));
        }
      }
      return;
    }
    if (!el.starts_with("<iq")) return;
    const auto type = attr(el, "type");
    const auto id = attr(el, "id");
    if (type == "get") {
      if (el.find("disco#info") != std::string_view::npos) answer_caps(c, el);
    } else if (id == "roster1") {
      if (&c == conns_[0].get()) on_hub_roster(el);
    } else if (id.starts_with("pub") || id.starts_with("del")) {
      ++pep_answers_;
      if (id.starts_with("pub") && type != "result" && publish_errors_++ < 3)
        std::cerr << "xmppbench: publish refused: " << std::string(el.substr(0, 400)) << "\n";
      if (scenario_ == 'f' && id.starts_with("pub")) {
        --publishing_;
        if (type == "result") ++published_;
        if (sending_) queue_publish(c);
      }
      notify();
    }
  }

  // The hub's roster: the subscription of each contact's item.
  void on_hub_roster(std::string_view el) {
    hub_subscription_.assign(conns_.size(), "none");
    for (size_t at = 0; (at = el.find("<item ", at)) != std::string_view::npos; ++at) {
      const std::string_view item = el.substr(at);
      auto it = contact_index_.find(std::string(attr(item, "jid")));
      if (it != contact_index_.end()) hub_subscription_[static_cast<size_t>(it->second)] = std::string(attr(item, "subscription"));
    }
    ++rosters_;
    notify();
  }

  awaitable<bool> ask_hub_roster(Clock::time_point limit) {
    const size_t before = rosters_;
    queue(*conns_[0], "<iq type='get' id='roster1'><query xmlns='jabber:iq:roster'/></iq>");
    flush_dirty();
    auto answered = [this, before] { return rosters_ > before; };
    co_return co_await wait_until(answered, std::min(limit, Clock::now() + 120s));
  }

  // Mutual subscriptions ('both') between the hub and every contact, set up in-band the first
  // time and kept by the server: only what the hub's roster lacks is asked for, and everyone
  // approves every request. False (and the error reported) if they could not be set up.
  awaitable<bool> seed_star(Clock::time_point limit, double& seed_s) {
    const auto t0 = Clock::now();
    const size_t n = conns_.size();
    if (!co_await ask_hub_roster(limit)) {
      result(" error=no_roster");
      co_return false;
    }
    Conn& hub = *conns_[0];
    std::uint64_t requests = 0;
    for (size_t j = 1; j < n; ++j) {
      const std::string& sub = hub_subscription_[j];
      if (sub != "to" && sub != "both") {  // the hub wants the contact's presence
        queue(hub, "<presence type='subscribe' to='" + bare_jid(*conns_[j]) + "'/>");
        ++requests;
      }
      if (sub != "from" && sub != "both") {  // and the contact the hub's
        queue(*conns_[j], "<presence type='subscribe' to='" + bare_jid(hub) + "'/>");
        ++requests;
      }
    }
    if (requests == 0) co_return true;
    flush_dirty();
    // A server that stores every change synchronously may take a while: only a long silence
    // ends the wait early.
    co_await wait_quiet(subscribed_, 20s, std::min(limit, Clock::now() + 300s), subscribed_ + requests);
    seed_s = seconds(Clock::now() - t0);
    const bool asked = co_await ask_hub_roster(limit);
    const auto both = static_cast<size_t>(std::count(hub_subscription_.begin() + 1, hub_subscription_.end(), "both"));
    if (!asked || both < n - 1) {
      result(" error=rosters_not_seeded both=" + std::to_string(both) + " subscribed=" + std::to_string(subscribed_));
      co_return false;
    }
    co_return true;
  }

  // The publisher's next item: its payload starts with the send time (ns), for the latency.
  void queue_publish(Conn& p) {
    char ts[24];
    auto* e = std::to_chars(ts, ts + sizeof ts, now_ns()).ptr;
    const std::string seq = std::to_string(sent_++);
    std::string& o = p.out;
    o.append("<iq type='set' id='pub").append(seq).append("'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='")
        .append(kFanoutNode).append("'><item id='i").append(seq).append("'><entry xmlns='urn:xmpp:bench:0'>")
        .append(ts, e).append(payload_).append("</entry></item></publish></pubsub></iq>");
    if (!p.dirty) {
      p.dirty = true;
      dirty_.push_back(&p);
    }
    ++publishing_;
  }

  // One publisher (the hub) and its contacts, all online, the contacts with caps asking for
  // the node. Once a first item reached every contact (the server has learned the caps), the
  // publisher keeps `window` publishes outstanding (each answer frees a slot): notifications
  // received by all contacts per second over D s after the warm-up, and publishes per second.
  awaitable<void> run_pep_fanout(Clock::time_point limit) {
    const size_t n = conns_.size();
    payload_.assign(static_cast<size_t>(opt_.payload), 'x');
    if (ready_ < static_cast<int>(n)) {
      result(" error=not_all_logged_in");
      co_return;
    }
    double seed_s = 0;
    if (!co_await seed_star(limit, seed_s)) co_return;
    co_await wait_quiet(presences_, 500ms, std::min(limit, Clock::now() + 30s));  // subscriptions' presence traffic
    Conn& publisher = *conns_[0];
    auto notified = [this, n] {
      return static_cast<size_t>(std::count_if(conns_.begin() + 1, conns_.begin() + static_cast<std::ptrdiff_t>(n),
                                               [](const auto& c) { return c->events > 0; }));
    };
    auto all_notified = [&] { return notified() == n - 1; };
    const auto t0 = Clock::now();
    for (int tries = 0; tries < 20 && !all_notified() && !aborting_; ++tries) {  // until the caps are verified
      queue_publish(publisher);
      flush_dirty();
      co_await wait_until(all_notified, std::min(limit, Clock::now() + 1s));
    }
    if (!all_notified()) {
      result(" error=caps_not_learned notified=" + std::to_string(notified()) + " publish_errors=" +
             std::to_string(publish_errors_));
      co_return;
    }
    const double caps_s = seconds(Clock::now() - t0);
    auto settled = [this] { return publishing_ == 0; };
    co_await wait_until(settled, std::min(limit, Clock::now() + 10s));
    co_await wait_quiet(received_, 300ms, std::min(limit, Clock::now() + 10s));
    received_ = published_ = 0;
    const auto start = Clock::now();
    const auto measure_from = start + std::chrono::milliseconds(static_cast<long long>(opt_.warmup * 1000));
    const auto measure_to = measure_from + std::chrono::milliseconds(static_cast<long long>(opt_.duration * 1000));
    measure_from_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(measure_from.time_since_epoch()).count();
    measure_to_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(measure_to.time_since_epoch()).count();
    sending_ = true;
    for (int k = 0; k < opt_.window; ++k) queue_publish(publisher);
    flush_dirty();
    co_await sleep_for(measure_from - Clock::now());
    const CpuMark a = cpu_mark(opt_.server_pid);
    const std::uint64_t recv_a = received_, pub_a = published_;
    co_await sleep_for(measure_to - Clock::now());
    const CpuMark b = cpu_mark(opt_.server_pid);
    const std::uint64_t recv_b = received_, pub_b = published_;
    sending_ = false;
    auto drained = [this, n] { return publishing_ == 0 && received_ >= published_ * (n - 1); };
    co_await wait_until(drained, std::min(limit, Clock::now() + 10s));
    const std::uint64_t expected = published_ * (n - 1);
    const std::uint64_t lost = expected > received_ ? expected - received_ : 0;
    const double wall = seconds(b.at - a.at);
    const double rate = wall > 0 ? double(recv_b - recv_a) / wall : 0;
    const double publishes = wall > 0 ? double(pub_b - pub_a) / wall : 0;
    auto p = percentiles(latencies_);
    std::snprintf(buf_, sizeof buf_,
                  " contacts=%zu window=%d seed_s=%.1f caps_s=%.2f seconds=%.1f notifications_per_s=%.0f "
                  "publishes_per_s=%.0f published=%llu received=%llu lost=%llu publish_errors=%llu p50_ms=%.3f "
                  "p99_ms=%.3f",
                  n - 1, opt_.window, seed_s, caps_s, wall, rate, publishes, (unsigned long long)published_,
                  (unsigned long long)received_, (unsigned long long)lost, (unsigned long long)publish_errors_, p.p50,
                  p.p99);
    result(buf_ + cpu_fields(cpu_between(a, b), rate));
    if (lost > 0 || publish_errors_ > 0) exit_code_ = 1;
  }

  // pep-login: one thing the timed login waits for, seen: contact j's presence at j - 1, the
  // last item of its node k at contacts + (j - 1) * nodes + k. The last one ends the login.
  void timed_saw(size_t at) {
    if (at >= timed_seen_.size() || timed_seen_[at]) return;
    timed_seen_[at] = 1;
    if (--timed_awaited_ == 0) {
      timed_done_ = Clock::now();
      notify();
    }
  }

  void on_last_item(std::string_view el) {
    auto it = contact_index_.find(std::string(attr(el, "from")));
    const auto items = el.find("<items");
    const std::string_view node = items == std::string_view::npos ? std::string_view() : attr(el.substr(items), "node");
    int k = -1;
    if (node.starts_with(kLoginNode))
      std::from_chars(node.data() + kLoginNode.size(), node.data() + node.size(), k);
    if (it == contact_index_.end() || k < 0 || k >= opt_.nodes || !timed_items_) {
      ++misdelivered_;  // not one of the items asked for, or one while the nodes are deleted
      return;
    }
    timed_saw(contact_index_.size() + static_cast<size_t>(it->second - 1) * static_cast<size_t>(opt_.nodes) + static_cast<size_t>(k));
  }

  // Each contact publishes one item to each of its nodes, or deletes them; waits for every answer.
  awaitable<bool> contacts_nodes(bool publish, Clock::time_point limit) {
    const std::uint64_t target = pep_answers_ + contact_index_.size() * static_cast<size_t>(opt_.nodes);
    for (size_t j = 1; j <= contact_index_.size(); ++j) {
      Conn& c = *conns_[j];
      for (int k = 0; k < opt_.nodes; ++k) {
        const std::string node = std::string(kLoginNode) + std::to_string(k), seq = std::to_string(sent_++);
        if (publish)
          queue(c, "<iq type='set' id='pub" + seq + "'><pubsub xmlns='http://jabber.org/protocol/pubsub'><publish node='" +
                       node + "'><item id='last'><entry xmlns='urn:xmpp:bench:0'>" + c.user + " " + node + payload_ +
                       "</entry></item></publish></pubsub></iq>");
        else  // item-not-found when there is none: fine
          queue(c, "<iq type='set' id='del" + seq + "'><pubsub xmlns='http://jabber.org/protocol/pubsub#owner'><delete node='" +
                       node + "'/></pubsub></iq>");
      }
    }
    flush_dirty();
    auto answered = [this, target] { return pep_answers_ >= target; };
    co_return co_await wait_until(answered, std::min(limit, Clock::now() + 60s));
  }

  // Ends the session cleanly (unavailable presence, stream close) and waits for the server to
  // close the stream, so that the next login does not overlap it.
  awaitable<void> logout(Conn& c, Clock::time_point limit) {
    c.ready = false;  // not counted as dropped
    queue(c, "<presence type='unavailable'/></stream:stream>");
    flush_dirty();
    auto closed = [&c] { return c.dead; };
    co_await wait_until(closed, std::min(limit, Clock::now() + 5s));
    close(c);
  }

  // One login of the hub on a new connection (resource r<idx>), from the connect to its end
  // point: the presence of every contact and, with the nodes published, the last item of each;
  // then a logout. Nullopt if the end point was not reached within 10 s.
  awaitable<std::optional<Clock::duration>> timed_login(bool with_items, Clock::time_point limit) {
    auto fresh = std::make_unique<Conn>(io_);
    Conn& hub = *fresh;
    hub.idx = static_cast<int>(conns_.size());
    hub.user = conns_[0]->user;
    hub.caps = &pep_caps_;
    conns_.push_back(std::move(fresh));
    const size_t contacts = contact_index_.size();
    timed_items_ = with_items;
    timed_seen_.assign(contacts * (1 + static_cast<size_t>(opt_.nodes)), 0);
    timed_awaited_ = contacts * (with_items ? 1 + static_cast<size_t>(opt_.nodes) : 1);
    timed_ = &hub;
    co_await login_range(hub.idx, 1, limit);
    auto done = [this] { return timed_awaited_ == 0; };
    const bool ok = hub.ready && co_await wait_until(done, std::min(limit, Clock::now() + 10s));
    timed_ = nullptr;
    if (hub.ready) co_await logout(hub, limit);
    if (!ok) co_return std::nullopt;
    co_return timed_done_ - hub.login_started;
  }

  // The hub and its contacts (mutual subscriptions) log in; then, in blocks that alternate
  // (so that drift on the machine hits both alike), the contacts delete their nodes and the
  // hub logs in and out L/4 times, then the contacts publish one item to each of their nodes
  // and the hub logs in and out L/4 times, each login with caps asking for every node.
  awaitable<void> run_pep_login(Clock::time_point limit) {
    const size_t n = conns_.size();
    payload_.assign(static_cast<size_t>(opt_.payload), 'x');
    if (ready_ < static_cast<int>(n)) {
      result(" error=not_all_logged_in");
      co_return;
    }
    double seed_s = 0;
    if (!co_await seed_star(limit, seed_s)) co_return;
    co_await wait_quiet(presences_, 500ms, std::min(limit, Clock::now() + 30s));
    co_await logout(*conns_[0], limit);  // its first login had the server learn its caps
    std::vector<std::int64_t> times[2];  // [0]: nodes deleted; [1]: nodes published
    double cpu_s[2] = {0, 0};
    int timeouts = 0;
    const CpuMark first = cpu_mark(opt_.server_pid);
    const int blocks = std::min(4, opt_.logins);
    for (int block = 0; block < blocks && !aborting_; ++block) {
      for (int with_items = 0; with_items < 2 && !aborting_; ++with_items) {
        if (!co_await contacts_nodes(with_items == 1, limit)) {
          result(" error=nodes_not_answered publish_errors=" + std::to_string(publish_errors_));
          co_return;
        }
        if (block == 0) co_await timed_login(with_items == 1, limit);  // unmeasured: the first of its kind
        const int count = opt_.logins / blocks + (block < opt_.logins % blocks ? 1 : 0);
        const CpuMark a = cpu_mark(opt_.server_pid);
        for (int i = 0; i < count && !aborting_; ++i) {
          auto took = co_await timed_login(with_items == 1, limit);
          if (took) times[with_items].push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(*took).count());
          else ++timeouts;
        }
        const CpuMark b = cpu_mark(opt_.server_pid);
        if (a.server && b.server) cpu_s[with_items] += *b.server - *a.server;
      }
    }
    const CpuMark last = cpu_mark(opt_.server_pid);
    auto mean_ms = [](const std::vector<std::int64_t>& v) {
      double sum = 0;
      for (auto t : v) sum += double(t);
      return v.empty() ? 0 : sum / double(v.size()) / 1e6;
    };
    const double mean0 = mean_ms(times[0]), mean1 = mean_ms(times[1]);
    auto p0 = percentiles(times[0]), p1 = percentiles(times[1]);
    auto cpu_ms = [&](int k) { return times[k].empty() ? 0 : 1000 * cpu_s[k] / double(times[k].size()); };
    std::snprintf(buf_, sizeof buf_,
                  " contacts=%zu nodes=%d logins=%zu+%zu seed_s=%.1f nopep_mean_ms=%.2f nopep_p50_ms=%.2f "
                  "nopep_p99_ms=%.2f pep_mean_ms=%.2f pep_p50_ms=%.2f pep_p99_ms=%.2f mean_ratio=%.2f p50_ratio=%.2f "
                  "p99_ratio=%.2f nopep_server_cpu_ms=%.2f pep_server_cpu_ms=%.2f lost=%d misdelivered=%llu",
                  n - 1, opt_.nodes, times[0].size(), times[1].size(), seed_s, mean0, p0.p50, p0.p99, mean1, p1.p50,
                  p1.p99, mean0 > 0 ? mean1 / mean0 : 0, p0.p50 > 0 ? p1.p50 / p0.p50 : 0,
                  p0.p99 > 0 ? p1.p99 / p0.p99 : 0, cpu_ms(0), cpu_ms(1), timeouts, (unsigned long long)misdelivered_);
    result(buf_ + cpu_fields(cpu_between(first, last)));
    if (timeouts > 0 || misdelivered_ > 0 || publish_errors_ > 0) exit_code_ = 1;
  }

  // Scenarios ----------------------------------------------------------------------------------

  struct CpuUse {
    double server_pct = -1, self_pct = -1;
  };
  CpuUse cpu_between(const CpuMark& a, const CpuMark& b) const {
    CpuUse u;
    double wall = seconds(b.at - a.at);
    if (wall <= 0) return u;
    if (a.server && b.server) u.server_pct = 100.0 * (*b.server - *a.server) / wall;
    if (a.self && b.self) u.self_pct = 100.0 * (*b.self - *a.self) / wall;
    return u;
  }

  // `rate` (per wall second) is also reported per second of server CPU: on a shared machine the
  // server may not get its whole core, and this figure is steadier than the wall-clock one.
  std::string cpu_fields(const CpuUse& u, double rate = -1) const {
    char buf[200];
    int n = std::snprintf(buf, sizeof buf, " server_cpu_pct=%.0f gen_cpu_pct=%.0f gen_bound=%s", u.server_pct,
                          u.self_pct, u.self_pct >= 90 ? "yes" : "no");
    if (rate >= 0 && u.server_pct > 1 && n > 0 && size_t(n) < sizeof buf)
      std::snprintf(buf + n, sizeof buf - size_t(n), " per_server_cpu_s=%.0f", rate / (u.server_pct / 100));
    return buf;
  }

  void result(const std::string& fields) {
    std::cout << "RESULT scenario=" << opt_.scenario << (opt_.label.empty() ? "" : " label=" + opt_.label) << fields
              << " logins_failed=" << failed_ << " dropped=" << dropped_
              << " pbkdf2=" << cache_.derivations() << " loadavg=" << loadavg() << "\n";
    std::cout.flush();
  }

  awaitable<void> main_task() {
    const std::string& s = opt_.scenario;
    const double auto_timeout =
        s == "throughput" || s == "latency" ? 60 + opt_.warmup + opt_.duration + opt_.pairs / 100.0
        : s == "muc"                        ? 90 + opt_.warmup + opt_.duration + opt_.clients / 20.0
        : s == "presence"                   ? 400 + opt_.clients / 10.0
        : s == "offline"                    ? 120 + opt_.settle + opt_.clients * opt_.messages / 1000.0
        : s == "pep-fanout"                 ? 120 + opt_.warmup + opt_.duration + opt_.contacts / 10.0
        : s == "pep-login"                  ? 120 + opt_.contacts / 10.0 + opt_.logins * opt_.nodes / 50.0
                                            : 60 + opt_.clients / 100.0 + opt_.settle + opt_.hold;
    const auto limit = Clock::now() + std::chrono::milliseconds(
                                          static_cast<long long>(1000 * (opt_.timeout > 0 ? opt_.timeout : auto_timeout)));
    deadline_.expires_at(limit);
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      std::cerr << "xmppbench: time limit reached, stopping\n";
      exit_code_ = 1;
      shutdown();
    });
    scenario_ = s == "latency" ? 'l' : s == "throughput" ? 't' : s == "muc" ? 'm' : s == "offline" ? 'o'
              : s == "presence" ? 'p' : s == "resume" ? 'r' : s == "pep-fanout" ? 'f' : s == "pep-login" ? 'g' : 's';
    const bool messages = scenario_ == 'l' || scenario_ == 't';
    const int n = messages ? 2 * opt_.pairs : scenario_ == 'o' ? opt_.clients + opt_.senders
                : scenario_ == 'r' ? opt_.clients + 1 : scenario_ == 'f' || scenario_ == 'g' ? opt_.contacts + 1
                                   : opt_.clients;
    {
      rlimit rl{};
      getrlimit(RLIMIT_NOFILE, &rl);
      if (rlim_t(n) + 32 > rl.rlim_cur) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, rlim_t(n) + 64);
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
        if (rlim_t(n) + 32 > rl.rlim_cur)
          std::cerr << "xmppbench: warning: open-file limit " << rl.rlim_cur << " is below " << n << " connections\n";
      }
    }
    if (scenario_ == 'o') {  // senders first (accounts R..), then the receivers (accounts 0..R-1)
      make_conns(n);
      for (int i = 0; i < n; ++i)
        conns_[static_cast<size_t>(i)]->user =
            opt_.user_prefix + std::to_string(i < opt_.senders ? opt_.clients + i : i - opt_.senders);
      co_await run_offline(limit);
      closing_ = true;
      if (failed_ > 0 || dropped_ > 0) exit_code_ = 1;
      shutdown();
      co_return;
    }
    make_conns(n);
    if (scenario_ == 'f' || scenario_ == 'g') setup_pep_conns();
    const long rss0 = opt_.server_pid ? rss_kb(opt_.server_pid).value_or(-1) : -1;
    const CpuMark m0 = cpu_mark(opt_.server_pid);
    const auto login_time = co_await login_all(limit);
    const CpuMark m1 = cpu_mark(opt_.server_pid);
    const double login_s = seconds(login_time);
    const double login_rate = login_s > 0 ? ready_ / login_s : 0;
    auto lp = percentiles(login_ns_);
    char buf[512];

    if (opt_.scenario == "login" || opt_.scenario == "prime" || opt_.scenario == "register") {
      std::snprintf(buf, sizeof buf, " sessions=%d elapsed_s=%.3f logins_per_s=%.0f login_p50_ms=%.2f login_p99_ms=%.2f",
                    ready_, login_s, login_rate, lp.p50, lp.p99);
      result(buf + cpu_fields(cpu_between(m0, m1), login_rate));
    } else if (opt_.scenario == "idle") {
      co_await sleep_for(std::chrono::milliseconds(static_cast<long long>(opt_.settle * 1000)));
      const long rss1 = opt_.server_pid ? rss_kb(opt_.server_pid).value_or(-1) : -1;
      const long self_rss = rss_kb(0).value_or(-1);
      double per = rss0 >= 0 && rss1 >= 0 && ready_ > 0 ? double(rss1 - rss0) / ready_ : -1;
      std::snprintf(buf, sizeof buf,
                    " sessions=%d rss_before_kb=%ld rss_after_kb=%ld kb_per_session=%.2f gen_rss_kb=%ld "
                    "logins_per_s=%.0f",
                    ready_, rss0, rss1, per, self_rss, login_rate);
      result(buf + cpu_fields(cpu_between(m0, m1)));
      if (opt_.hold > 0) co_await sleep_for(std::chrono::milliseconds(static_cast<long long>(opt_.hold * 1000)));
    } else if (scenario_ == 'm') {
      co_await run_muc(limit);
    } else if (scenario_ == 'p') {
      co_await run_presence(limit);
    } else if (scenario_ == 'r') {
      co_await run_resume(limit, rss0);
    } else if (scenario_ == 'f') {
      co_await run_pep_fanout(limit);
    } else if (scenario_ == 'g') {
      co_await run_pep_login(limit);
    } else {
      co_await run_messages(limit);
    }
    closing_ = true;
    if (ready_ + failed_ < n || failed_ > 0 || dropped_ > 0) exit_code_ = 1;
    shutdown();
  }

  awaitable<void> run_messages(Clock::time_point limit) {
    const size_t pairs = static_cast<size_t>(opt_.pairs);
    outstanding_.assign(pairs, 0);
    payload_.assign(static_cast<size_t>(opt_.payload), 'x');
    if (ready_ < static_cast<int>(2 * pairs)) {
      result(" error=not_all_logged_in");
      co_return;
    }
    co_await sleep_for(200ms);  // let the initial presences settle
    const auto start = Clock::now();
    const auto measure_from = start + std::chrono::milliseconds(static_cast<long long>(opt_.warmup * 1000));
    const auto measure_to = measure_from + std::chrono::milliseconds(static_cast<long long>(opt_.duration * 1000));
    measure_from_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(measure_from.time_since_epoch()).count();
    measure_to_ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(measure_to.time_since_epoch()).count();
    sending_ = true;
    CpuMark a, b;
    std::uint64_t recv_a = 0, recv_b = 0, writes_a = 0, reads_a = 0, writes_b = 0, reads_b = 0;
    if (scenario_ == 't') {
      for (size_t j = 0; j < pairs; ++j)
        for (int k = 0; k < opt_.window; ++k) queue_message(j, 0);
      flush_dirty();
      co_await sleep_for(measure_from - Clock::now());
      a = cpu_mark(opt_.server_pid);
      recv_a = received_, writes_a = writes_, reads_a = reads_;
      co_await sleep_for(measure_to - Clock::now());
      b = cpu_mark(opt_.server_pid);
      recv_b = received_, writes_b = writes_, reads_b = reads_;
    } else {
      // Open loop: send what the schedule says is due, round robin, at every tick of 1/R (one
      // message a tick, evenly spaced) but no shorter than 100 µs nor longer than 1 ms.
      asio::steady_timer tick(io_);
      const double per_ns = opt_.rate / 1e9;
      const auto interval = std::clamp<Clock::duration>(
          std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / opt_.rate)), 100us, 1ms);
      size_t rr = 0;
      bool marked = false;
      for (auto t = start; t < measure_to && !aborting_;) {
        auto now = Clock::now();
        if (!marked && now >= measure_from) {
          a = cpu_mark(opt_.server_pid);
          recv_a = received_, writes_a = writes_, reads_a = reads_;
          marked = true;
        }
        const auto due = static_cast<std::uint64_t>(per_ns * double((std::min(now, measure_to) - start).count()));
        const std::int64_t ts = now_ns();
        for (; sent_ < due; rr = (rr + 1) % pairs) queue_message(rr, ts);
        flush_dirty();
        t += interval;
        tick.expires_at(t);
        co_await tick.async_wait(asio::as_tuple(use_awaitable));
      }
      b = cpu_mark(opt_.server_pid);
      recv_b = received_, writes_b = writes_, reads_b = reads_;
    }
    sending_ = false;
    // Drain: wait for what is in flight, at most 5 seconds.
    auto drained = [this] { return received_ >= sent_; };
    const auto drain_limit = std::min(limit, Clock::now() + 5s);
    co_await wait_until(drained, drain_limit);
    const double wall = seconds(b.at - a.at);
    const auto u = cpu_between(a, b);
    const std::uint64_t lost = sent_ > received_ ? sent_ - received_ : 0;
    const double delivered = wall > 0 ? double(recv_b - recv_a) / wall : 0;
    const double msgs = double(recv_b - recv_a);
    const double per_write = writes_b > writes_a ? msgs / double(writes_b - writes_a) : 0;
    (void)reads_a;
    (void)reads_b;
    if (scenario_ == 't') {
      std::snprintf(buf_, sizeof buf_,
                    " pairs=%d window=%d seconds=%.1f delivered_per_s=%.0f sent=%llu received=%llu lost=%llu "
                    "msgs_per_write=%.1f",
                    opt_.pairs, opt_.window, wall, delivered, (unsigned long long)sent_, (unsigned long long)received_,
                    (unsigned long long)lost, per_write);
    } else {
      auto p = percentiles(latencies_);
      std::snprintf(buf_, sizeof buf_,
                    " pairs=%d rate=%.0f seconds=%.1f delivered_per_s=%.0f samples=%zu p50_ms=%.3f p90_ms=%.3f "
                    "p99_ms=%.3f max_ms=%.3f sent=%llu received=%llu lost=%llu",
                    opt_.pairs, opt_.rate, wall, delivered, latencies_.size(), p.p50, p.p90, p.p99, p.max,
                    (unsigned long long)sent_, (unsigned long long)received_, (unsigned long long)lost);
    }
    std::string extra = " bounced=" + std::to_string(bounced_) + " misdelivered=" + std::to_string(misdelivered_);
    result(buf_ + extra + cpu_fields(u, delivered));
    if (lost > 0 || bounced_ > 0 || misdelivered_ > 0) exit_code_ = 1;
  }

  Options opt_;
  asio::io_context io_{1};
  ssl::context ssl_;
  asio::steady_timer launch_wake_, main_wake_, deadline_;
  tcp::endpoint server_ep_;
  bench::ScramCache cache_;
  std::string header_, payload_;
  std::vector<std::unique_ptr<Conn>> conns_;
  std::vector<Conn*> dirty_;
  std::vector<std::int64_t> login_ns_, latencies_;
  std::vector<std::int64_t> outstanding_;
  std::minstd_rand rng_{std::random_device{}()};
  char scenario_ = 0;
  char buf_[768];
  bool aborting_ = false, closing_ = false, sending_ = false;
  int in_flight_ = 0, ready_ = 0, failed_ = 0, launched_ = 0, dropped_ = 0, exit_code_ = 0;
  std::uint64_t sent_ = 0, received_ = 0, writes_ = 0, reads_ = 0, bounced_ = 0, misdelivered_ = 0;
  // muc
  int joined_ = 0, muc_errors_ = 0;
  bool need_config_ = false, configured_ = false;
  std::uint64_t muc_presences_ = 0;
  // offline
  std::string run_id_;
  int synced_ = 0;
  std::uint64_t stale_ = 0;
  Clock::time_point last_delivery_{};
  // presence
  std::string round_tag_;
  size_t rosters_ = 0;
  std::uint64_t subscribed_ = 0, presences_ = 0, total_presence_ = 0;
  // pep-fanout, pep-login
  Caps pep_caps_;
  std::unordered_map<std::string, int> contact_index_;  // contact's bare JID → its connection
  std::vector<std::string> hub_subscription_;          // per connection: the hub's roster item's subscription
  std::uint64_t pep_answers_ = 0, published_ = 0, publish_errors_ = 0;
  int publishing_ = 0;
  Conn* timed_ = nullptr;  // pep-login: the hub's login being timed
  bool timed_items_ = false;
  std::vector<char> timed_seen_;
  size_t timed_awaited_ = 0;
  Clock::time_point timed_done_{};
  std::int64_t measure_from_ns_ = 0, measure_to_ns_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse_args(argc, argv);
  try {
    Bench bench(std::move(opt));
    return bench.run();
  } catch (const std::exception& e) {
    std::cerr << "xmppbench: " << e.what() << "\n";
    return 1;
  }
}

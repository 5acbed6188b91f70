#include "stream/bosh_endpoint.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <map>
#include <mutex>

#include "common/log.hpp"
#include "config/config.hpp"
#include "net/bosh_connection.hpp"
#include "router/router.hpp"
#include "stream/bosh_framing.hpp"
#include "stream/c2s_session.hpp"
#include "xml/stream_parser.hpp"

namespace asio = boost::asio;

namespace xmppd::stream {
namespace {

constexpr const char* kHttpBind = "http://jabber.org/protocol/httpbind";

// The sessions by sid; an entry whose session is gone is dropped when the next one starts.
class BoshSessions {
 public:
  std::shared_ptr<net::BoshConnection> find(const std::string& sid) {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(sid);
    return it == sessions_.end() ? nullptr : it->second.lock();
  }
  void add(const std::shared_ptr<net::BoshConnection>& session) {
    std::lock_guard lock(mutex_);
    std::erase_if(sessions_, [](const auto& entry) { return entry.second.expired(); });
    sessions_.emplace(session->sid(), session);
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::weak_ptr<net::BoshConnection>> sessions_;
};

std::string new_sid() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes");
  static constexpr char hex[] = "0123456789abcdef";
  std::string sid;
  for (unsigned char b : bytes) (sid += hex[b >> 4]) += hex[b & 15];
  return sid;
}

// The request's <body/>, parsed with the stream rules (no DTD, entities, comments; the
// stanza limits); nullopt if it is not one well-formed element.
std::optional<Element> parse_body(std::string_view text, const config::Config& config) {
  xml::ParserLimits limits = config.limits;
  limits.max_stanza_bytes = std::max(limits.max_stanza_bytes, config.http.max_body_bytes);
  limits.max_depth += 1;  // the <body/> around the stanzas
  xml::StreamParser parser(limits);
  open_hidden_stream(parser);
  std::vector<xml::Event> events;
  if (!parser.feed(text, events) || events.size() != 1 || !parser.between_stanzas()) return std::nullopt;
  auto* stanza = std::get_if<xml::Stanza>(&events.front());
  if (!stanza || !stanza->element.is("body", kHttpBind)) return std::nullopt;
  return std::move(stanza->element);
}

asio::awaitable<void> serve(C2SContext& ctx, BoshSessions& sessions, net::http::Exchange& exchange) {
  const net::http::Request& request = exchange.request();
  if (exchange.method() != "POST") {
    net::http::Response refused = net::http::Response::text(405, "BOSH (XEP-0206) takes POST requests here");
    refused.headers.emplace_back("Allow", "POST, OPTIONS");
    co_return co_await exchange.answer(refused);
  }
  std::string text;
  for (;;) {
    std::string_view piece = co_await exchange.read_body(64 * 1024);
    if (piece.empty()) break;
    if (text.size() + piece.size() > ctx.config.http.max_body_bytes) {
      net::http::Response refused = net::http::Response::text(413, "Request body too large ([http] max_body_bytes)");
      exchange.close_after();
      co_return co_await exchange.answer(refused);
    }
    text.append(piece);
  }
  std::optional<Element> body = parse_body(text, ctx.config);
  std::string reply;
  if (!body) {
    reply = net::BoshConnection::terminate("bad-request");
  } else if (const std::string* sid = body->attr("sid")) {
    // XEP-0124 §14.3: a session that does not exist (any more).
    if (auto session = sessions.find(*sid)) {
      auto on_its_thread = [session, body = std::move(*body)]() mutable { return session->request(std::move(body)); };
      reply = co_await asio::co_spawn(session->executor(), on_its_thread, asio::use_awaitable);
    } else {
      reply = net::BoshConnection::terminate("item-not-found");
    }
  } else if (!body->attr("rid") || !ctx.router.is_local(Jid::nameprep(body->attr_or("to")).value_or(""))) {
    reply = net::BoshConnection::terminate(body->attr("rid") ? "host-unknown" : "bad-request");
  } else if (!request.secure && ctx.config.require_encryption) {
    net::http::Response refused = net::http::Response::text(403, "This server requires encryption: use https://");
    co_return co_await exchange.answer(refused);
  } else {
    const net::BoshConnection::Limits limits{ctx.config.http.bosh_max_wait, ctx.config.http.bosh_inactivity,
                                             ctx.config.max_write_queue_bytes};
    auto session = std::make_shared<net::BoshConnection>(exchange.executor(), new_sid(), *body, request.remote_address,
                                                         request.secure, limits);
    sessions.add(session);
    log::debug("bosh: session ", session->sid(), " for ", request.remote_address);
    std::make_shared<C2SSession>(ctx, session, std::make_unique<BoshFraming>(ctx.config.limits))->start();
    auto creating = session->request(std::move(*body));
    reply = co_await std::move(creating);
  }
  net::http::Response response;
  response.content_type = "text/xml; charset=utf-8";
  response.body = std::move(reply);
  co_await exchange.answer(response);
}

}  // namespace

net::http::Handler bosh_endpoint(C2SContext& ctx) {
  auto sessions = std::make_shared<BoshSessions>();
  return [&ctx, sessions](net::http::Exchange& exchange) { return serve(ctx, *sessions, exchange); };
}

}  // namespace xmppd::stream

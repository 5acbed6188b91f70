#include "stream/c2s_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "auth/auth_throttle.hpp"
#include "auth/scram.hpp"
#include "common/log.hpp"
#include "config/config.hpp"
#include "module/host.hpp"
#include "net/tls.hpp"
#include "router/router.hpp"
#include "storage/storage_thread.hpp"
#include "router/stanza_cause.hpp"
#include "stream/resumption_table.hpp"
#include "stream/session_registry.hpp"
#include "stream/stream_error.hpp"
#include "stream/xml_stream_framing.hpp"
#include "xml/serializer.hpp"

namespace asio = boost::asio;

namespace xmppd::stream {
namespace {

// RFC 6120 §6.4.5: a few retries, then the stream ends.
constexpr unsigned kMaxSaslRetries = 5;

// Stream IDs must be unpredictable (RFC 6120 §4.7.3). OpenSSL's generator costs thousands
// of instructions and a getpid() per call, whatever the size: draw 4 KiB at a time instead.
std::string random_id(std::size_t bytes) {
  thread_local unsigned char pool[4096];
  thread_local std::size_t used = sizeof pool;
  if (used + bytes > sizeof pool) {
    if (RAND_bytes(pool, int(sizeof pool)) != 1) throw std::runtime_error("no random bytes");
    used = 0;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  id.reserve(2 * bytes);
  for (std::size_t i = 0; i < bytes; ++i, ++used) {
    id += hex[pool[used] >> 4];
    id += hex[pool[used] & 15];
  }
  return id;
}

Element sasl_element(const char* name, std::string_view data) {
  Element e(name, ns::kSasl);
  if (!data.empty()) e.add_text(auth::base64_encode(data));
  return e;
}

}  // namespace

C2SSession::C2SSession(C2SContext& ctx, asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint& peer,
                       bool direct_tls)
    : C2SSession(ctx, std::make_shared<net::Transport>(std::move(socket), peer),
                 std::make_unique<XmlStreamFraming>(ctx.config.limits)) {
  direct_tls_ = direct_tls;
}

C2SSession::C2SSession(C2SContext& ctx, std::shared_ptr<net::Connection> connection, std::unique_ptr<Framing> framing,
                       std::string early_input)
    : ctx_(ctx),
      transport_(std::move(connection)),
      direct_tls_(false),
      framing_(std::move(framing)),
      early_input_(std::move(early_input)),
      read_rate_(ctx.config.max_bytes_per_second,
                 std::max(ctx.config.max_bytes_per_second, ctx.config.limits.max_stanza_bytes)),
      flushed_(transport_->executor()),
      auth_timer_(transport_->executor()),
      quiet_timer_(transport_->executor()),
      liveness_timer_(transport_->executor()) {}

C2SSession::~C2SSession() = default;

asio::any_io_executor C2SSession::executor() { return transport_->executor(); }

void C2SSession::start() {
  auto self = std::static_pointer_cast<C2SSession>(shared_from_this());
  unsigned from_address = ctx_.registry.add(self, transport_->remote_address());
  if (ctx_.config.max_connections_per_ip && from_address > ctx_.config.max_connections_per_ip) {
    log::warn("c2s: ", transport_->remote_address(), ": refused, already ", from_address - 1,
              " connections from that address ([c2s.limits] max_connections_per_ip)");
    // Before TLS a stream error is readable; on a direct-TLS port the client only sees a close.
    if (!direct_tls_) stream_error("policy-violation", "Too many connections from your address");
    return finish();
  }
  auth_timer_.expires_after(ctx_.config.auth_timeout);
  auth_timer_.async_wait([weak = std::weak_ptr(self)](boost::system::error_code ec) {
    auto s = weak.lock();
    if (ec || !s || s->bound_) return;
    // A stalled TLS handshake has no stream to carry an error: just hang up.
    if (s->handshaking_) s->transport_->close();
    else s->stream_error("connection-timeout", "Authentication took too long");
  });
  asio::co_spawn(executor(), [self]() { return self->run(); }, asio::detached);
}

asio::awaitable<void> C2SSession::run() {
  log::debug("c2s: connection from ", transport_->remote_address());
  try {
    if (direct_tls_) co_await handshake(ctx_.tls.by_sni());
    std::vector<xml::Event> events;
    asio::steady_timer slow_down(executor());
    while (!closing_) {
      std::string_view data = early_input_;
      if (data.empty()) data = co_await transport_->read();
      if (data.empty()) break;  // the client closed the connection
      std::string held;  // `data` dies at the next suspension: a throttled read is kept here
      if (auto wait = read_rate_.consume(data.size(), net::ReadRate::clock::now()); wait > wait.zero()) {
        // Over its read rate: the client waits for us (its TCP window fills meanwhile).
        held.assign(data);
        slow_down.expires_after(wait);
        co_await slow_down.async_wait(asio::use_awaitable);
        data = held;
      }
      events.clear();
      std::size_t answered = out_.size();
      // Copies what it needs: `data` dies here.
      Framing::Fed fed = framing_->feed(data, events, out_);
      if (!early_input_.empty()) std::string().swap(early_input_);
      if (out_.size() != answered) queued();  // the framing's own answer (a WebSocket pong)
      last_read_ = std::chrono::steady_clock::now();
      for (auto& event : events) {
        if (closing_ || restart_) break;
        co_await handle(event);
      }
      if (restart_) {
        // Anything after <starttls/> or the SASL exchange in the same read is dropped: it
        // was sent before the new stream began (and may be injected plaintext).
        restart_ = false;
        framing_->restart();
        continue;
      }
      if (fed == Framing::Fed::closed) {
        log::debug("c2s: ", transport_->remote_address(), ": ", framing_->error_text());
        break;  // as if the connection dropped: the session may hibernate
      }
      if (fed == Framing::Fed::stream_error && !closing_) {
        log::info("c2s: ", transport_->remote_address(), ": ", framing_->error_text());
        stream_error(framing_->error_condition());
      }
      // Only once bound: during the login a client answers within a round trip, and a
      // release then would cost a parser reset per read in a slow login storm.
      if (bound_) watch_for_quiet(last_read_ + kQuietPeriod);
    }
  } catch (const std::exception& e) {
    log::debug("c2s: ", transport_->remote_address(), ": connection ended: ", e.what());
  }
  // A connection that dropped (no stream close, no error of ours) with resumption enabled
  // leaves its session behind for the client to resume.
  if (bound_ && !closing_ && !sm_id_.empty()) hibernate();
  else finish();
}

// A session that read nothing for a whole period gives its XML parser back (most of an idle
// session's memory); one timer per period while reads come in, none once it is quiet.
void C2SSession::watch_for_quiet(std::chrono::steady_clock::time_point due) {
  if (quiet_watch_) return;
  quiet_watch_ = true;
  quiet_timer_.expires_at(due);
  auto self = std::static_pointer_cast<C2SSession>(shared_from_this());
  quiet_timer_.async_wait([weak = std::weak_ptr(self)](boost::system::error_code ec) {
    auto s = weak.lock();
    if (!s) return;
    s->quiet_watch_ = false;
    if (ec || s->closing_) return;
    const auto quiet_at = s->last_read_ + kQuietPeriod;
    const auto now = std::chrono::steady_clock::now();
    if (now < quiet_at) {
      s->watch_for_quiet(quiet_at);  // read since: wait a period after that read
    } else if (!s->framing_->release_if_idle()) {
      s->watch_for_quiet(now + kQuietPeriod);  // stopped in the middle of a stanza
    } else {
      s->release_output_buffers();
    }
  });
}

// The output buffers keep the capacity of the largest write (a login's features, a burst
// of messages); a quiet session gives it back.
void C2SSession::release_output_buffers() {
  if (writing_) return;
  if (out_.empty()) std::string().swap(out_);
  std::string().swap(inflight_);
}

void C2SSession::finish() {
  auth_timer_.cancel();
  quiet_timer_.cancel();
  liveness_timer_.cancel();
  if (!sm_id_.empty()) ctx_.resumable.remove(std::exchange(sm_id_, {}));
  if (bound_) {
    ctx_.router.unbind(*this);
    SessionEvent event{jid_};
    host_->session_closed.run(event);
    log::info("c2s: ", jid_.str(), hibernating_ ? " ended (not resumed in time)" : " disconnected");
  }
  bound_ = false;
  closing_ = true;
  hibernating_ = false;
  reroute_unacked();  // after unbind: nothing comes back here
  if (!writing_) transport_->close_gracefully(shared_from_this());
  ctx_.registry.remove(this);
}

asio::awaitable<void> C2SSession::handle(xml::Event& event) {
  if (auto* open = std::get_if<xml::StreamOpen>(&event)) {
    on_stream_open(open->header);
  } else if (auto* stanza = std::get_if<xml::Stanza>(&event)) {
    Element& element = stanza->element;
    if (!bound_) {
      co_await on_negotiation(element);
    } else if (element.ns() == ns::kSm) {
      on_sm(element);
    } else if (element.ns() == ns::kCsi) {
      on_csi(element);
    } else {
      {
        router::StanzaCause cause(*this);  // storage writes it causes hold our later output
        on_stanza(element);
      }
      if (sm_) sm_->count_handled();
    }
  } else {
    // The client closed its stream: close ours and the connection.
    send_stream_close();
    close_after_flush();
  }
}

// Stream header ----------------------------------------------------------------------------

void C2SSession::on_stream_open(const Element& header) {
  stream_id_ = random_id(16);
  std::string_view to = header.attr_or("to");
  std::optional<std::string> domain = to.empty() ? std::optional(ctx_.config.hosts.front().domain)
                                                 : Jid::nameprep(to);
  bool known = domain && ctx_.router.is_local(*domain) && (domain_.empty() || *domain == domain_);
  std::string from = known ? *domain : ctx_.config.hosts.front().domain;

  framing_->open_stream(out_, stream_id_, from);
  queued();
  header_sent_ = true;

  if (header.attr_or("xmlns") != ns::kClient) return stream_error("invalid-namespace");
  if (!known) return stream_error("host-unknown");
  std::string_view version = header.attr_or("version");
  if (version.empty() || version.substr(0, version.find('.')) != "1")
    return stream_error("unsupported-version");
  domain_ = *domain;
  host_ = ctx_.router.host(domain_);
  send_features();
}

void C2SSession::send_features() {
  Element features("features", ns::kStream);
  if (!authenticated_) {
    if (!secure() && framing_->tls_upgradable()) {
      Element& starttls = features.add_child("starttls", ns::kTls);
      if (ctx_.config.require_encryption) starttls.add_child("required", ns::kTls);
    }
    if (secure() || !ctx_.config.require_encryption) {
      sasl_ = std::make_unique<auth::SaslExchange>(domain_, secure());
      Element& mechs = features.add_child("mechanisms", ns::kSasl);
      for (const auto& m : sasl_->mechanisms()) mechs.add_child("mechanism", ns::kSasl).add_text(m);
    }
  } else {
    features.add_child("bind", ns::kBind);
    features.add_child("session", ns::kSession).add_child("optional", ns::kSession);
    if (ctx_.config.stream_management.enabled) features.add_child("sm", ns::kSm);
    features.add_child("csi", ns::kCsi);
  }
  // Modules' features appear once the stream may authenticate (after STARTTLS if required).
  if (authenticated_ || sasl_)
    for (const auto& provider : host_->stream_features) provider(features, authenticated_);
  // The features element uses the stream: prefix the header declared.
  std::string body;
  for (const Element& child : features.nodes()) xml::serialize(child, body, ns::kClient);
  send_raw("<stream:features" + std::string(framing_->stream_prefix()) + '>' + body + "</stream:features>");
}

// Negotiation (before bind) ------------------------------------------------------------------

asio::awaitable<void> C2SSession::on_negotiation(Element& element) {
  if (!authenticated_) {
    if (element.is("starttls", ns::kTls)) co_return co_await on_starttls();
    if (element.ns() == ns::kSasl) co_return co_await on_sasl(element);
    // In-band registration sends a password: only once the stream is as protected as SASL.
    if (sasl_ && on_unauthenticated_iq(element)) co_return;
    co_return stream_error("not-authorized");
  }
  if (element.is("iq", ns::kClient) && element.attr_or("type") == "set" &&
      element.child("bind", ns::kBind)) {
    co_return on_bind(element);
  }
  if (element.is("resume", ns::kSm) && ctx_.config.stream_management.enabled) co_return co_await on_resume(element);
  // XEP-0198 §3: stream management is enabled after binding a resource, never before.
  if (element.ns() == ns::kSm) co_return sm_failed("unexpected-request");
  stream_error("not-authorized");
}

asio::awaitable<void> C2SSession::on_starttls() {
  if (secure() || !framing_->tls_upgradable()) {
    send_raw("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    send_stream_close();
    co_return close_after_flush();
  }
  send_raw("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
  co_await flush();
  restart_ = true;
  header_sent_ = false;
  co_await handshake(ctx_.tls.for_host(domain_));
}

asio::awaitable<void> C2SSession::handshake(asio::ssl::context& tls) {
  handshaking_ = true;
  co_await transport_->start_tls(tls);
  handshaking_ = false;
}

asio::awaitable<void> C2SSession::on_sasl(Element& element) {
  if (!sasl_) co_return stream_error("not-authorized");  // SASL was not offered (no TLS yet)
  const std::string& name = element.name();
  if (name == "abort") {
    sasl_ = std::make_unique<auth::SaslExchange>(domain_, secure());
    sasl_mechanism_.clear();
    co_return sasl_failure("aborted");
  }
  if (name != "auth" && name != "response") co_return sasl_failure("malformed-request");
  if (name == "response" && sasl_mechanism_.empty()) co_return sasl_failure("malformed-request");

  // RFC 6120 §6.4.2: no text means no initial response; "=" means an empty one.
  std::string text = element.text();
  std::optional<std::string> payload;
  if (text == "=") {
    payload = std::string();
  } else if (!text.empty()) {
    payload = auth::base64_decode(text);
    if (!payload) co_return sasl_failure("incorrect-encoding");
  }

  if (name == "auth") {
    if (ctx_.throttle.blocked(transport_->remote_address()))
      co_return sasl_failure("temporary-auth-failure", "Too many failed attempts; try again later");
    if (!sasl_mechanism_.empty())  // a new <auth> restarts the exchange
      sasl_ = std::make_unique<auth::SaslExchange>(domain_, secure());
    sasl_mechanism_ = element.attr_or("mechanism");
    if (payload) co_await fetch_secrets(sasl_mechanism_, *payload);
    if (closing_) co_return;
    co_return on_sasl_step(sasl_->start(sasl_mechanism_, payload ? std::optional<std::string_view>(*payload) : std::nullopt));
  }
  if (!payload) payload = std::string();
  co_await fetch_secrets(sasl_mechanism_, *payload);
  if (closing_) co_return;
  on_sasl_step(sasl_->step(*payload));
}

asio::awaitable<void> C2SSession::fetch_secrets(std::string_view mechanism, std::string_view message) {
  if (sasl_->has_secrets()) co_return;
  auto user = auth::peek_username(mechanism, message, domain_);
  if (!user) co_return;
  // A named lambda, not a temporary: GCC 12 destroys temporaries of a co_await twice.
  auto lookup = [name = *user, domain = domain_](storage::Storage& s) { return s.accounts().secrets(name, domain); };
  auto secrets = co_await ctx_.storage.run(std::move(lookup));
  sasl_->provide_secrets(*user, std::move(secrets));
}

void C2SSession::on_sasl_step(const auth::SaslExchange::Step& step) {
  using Step = auth::SaslExchange::Step;
  switch (step.kind) {
    case Step::challenge:
      send(sasl_element("challenge", step.data));
      return;
    case Step::success:
      ctx_.throttle.succeeded(transport_->remote_address());
      username_ = sasl_->username();
      log::info("c2s: ", transport_->remote_address(), " authenticated as ", username_, '@', domain_,
                " (", sasl_mechanism_, ')');
      send(sasl_element("success", step.data));
      sasl_.reset();
      authenticated_ = true;
      restart_ = true;
      header_sent_ = false;
      return;
    case Step::failure:
      if (step.condition == "not-authorized") ctx_.throttle.failed(transport_->remote_address());
      log::info("c2s: ", transport_->remote_address(), ": authentication failed (", step.condition, ')');
      sasl_failure(step.condition);
      return;
  }
}

void C2SSession::sasl_failure(std::string_view condition, std::string_view text) {
  Element failure("failure", ns::kSasl);
  failure.add_child(std::string(condition), ns::kSasl);
  if (!text.empty()) failure.add_child("text", ns::kSasl).add_text(std::string(text));
  send(failure);
  sasl_mechanism_.clear();
  sasl_ = std::make_unique<auth::SaslExchange>(domain_, secure());
  if (++sasl_failures_ >= kMaxSaslRetries) stream_error("policy-violation", "Too many failed attempts");
}

bool C2SSession::on_unauthenticated_iq(Element& iq) {
  std::string_view type = iq.attr_or("type");
  const Element* payload = iq.first_child();
  if (!iq.is("iq", ns::kClient) || (type != "get" && type != "set") || !payload) return false;
  auto it = host_->unauthenticated_iq.find(payload->ns());
  if (it == host_->unauthenticated_iq.end()) return false;
  // The module may answer later, from another thread: the reply hops back to this stream.
  auto reply = [weak = weak_from_this()](Element answer) {
    auto self = std::static_pointer_cast<C2SSession>(weak.lock());
    if (!self) return;
    asio::dispatch(self->executor(), [self, answer = std::move(answer)] { self->send(answer); });
  };
  it->second(std::move(iq), transport_->remote_address(), std::move(reply));
  return true;
}

void C2SSession::on_bind(Element& iq) {
  std::string requested = iq.child("bind", ns::kBind)->child_text("resource", ns::kBind);
  std::optional<Jid> jid = Jid::make(username_, domain_, requested.empty() ? random_id(8) : requested);
  if (!jid) {
    send(stanza::error(iq, "bad-request", "Invalid resource"));
    return;
  }
  unsigned limit = ctx_.config.max_sessions_per_account;
  if (limit && ctx_.router.sessions_of(*jid).size() >= limit && !ctx_.router.find(*jid)) {
    // RFC 6120 §7.6.2.1: the account has reached its number of simultaneous resources.
    log::info("c2s: ", transport_->remote_address(), ": ", jid->bare_str(), " already has ", limit,
              " sessions ([c2s.limits] max_sessions_per_account)");
    send(stanza::error(iq, "resource-constraint", "Too many sessions for this account"));
    return;
  }
  jid_ = std::move(*jid);
  bound_ = true;
  auth_timer_.cancel();
  // The result first: stanzas may reach the session from the moment the router knows it
  // (a replaced session on this thread hands its queue over inside bind()).
  Element reply = stanza::iq_result(iq);
  reply.remove_attr("from");
  reply.add_child("bind", ns::kBind).add_child("jid", ns::kBind).add_text(jid_.str());
  send(reply);
  ctx_.router.bind(shared_from_this());
  log::info("c2s: ", transport_->remote_address(), " bound ", jid_.str());
  SessionEvent event{jid_};
  host_->session_bound.run(event);
  watch_liveness();
}

// Established stream -------------------------------------------------------------------------

void C2SSession::on_stanza(Element& stanza) {
  const std::string& name = stanza.name();
  if (stanza.ns() != ns::kClient || (name != "message" && name != "presence" && name != "iq"))
    return stream_error("unsupported-stanza-type");

  // RFC 6120 §8.1.2.1: the server stamps the sender; a client may only name itself.
  if (const std::string* from = stanza.attr("from")) {
    auto claimed = Jid::parse(*from);
    if (!claimed || !(*claimed == jid_ || *claimed == jid_.bare())) return stream_error("invalid-from");
  }
  stanza.set_attr("from", jid_.str());
  std::string_view type = stanza.attr_or("type");

  if (name == "iq") {
    // RFC 6120 §8.2.3: an IQ has an id, one of four types, and get/set carry one payload.
    bool request = type == "get" || type == "set";
    std::size_t payloads = 0;
    for (const Element& n : stanza.nodes()) payloads += !n.is_text();
    if (!stanza.attr("id") || (!request && type != "result" && type != "error") ||
        (request && payloads != 1)) {
      if (type != "error" && type != "result") send(stanza::error(stanza, "bad-request"));
      return;
    }
    // The RFC 3921 session establishment is a no-op kept for older clients.
    if (type == "set" && stanza.child("session", ns::kSession) &&
        (!stanza.attr("to") || stanza.attr_or("to") == domain_)) {
      Element reply = stanza::iq_result(stanza);
      reply.set_attr("from", domain_);
      return send(reply);
    }
  }

  if (name == "presence" && !stanza.attr("to")) return on_broadcast_presence(stanza);

  const std::string* to_attr = stanza.attr("to");
  std::optional<Jid> to = (to_attr && !to_attr->empty()) ? Jid::parse(*to_attr) : jid_.bare();
  if (!to) return ctx_.router.route(std::move(stanza));  // bounces jid-malformed
  StanzaEvent event{stanza, jid_, *to};
  if (host_->outgoing.run(event) == HookResult::handled) return;
  ctx_.router.route(std::move(stanza), jid_, *to);
}

void C2SSession::on_broadcast_presence(Element& presence) {
  std::string_view type = presence.attr_or("type");
  if (type.empty()) {
    int priority = 0;
    std::string text = presence.child_text("priority", ns::kClient);
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), priority);
    if (ec != std::errc() || ptr != text.data() + text.size()) priority = 0;
    available_ = true;
    priority_ = std::clamp(priority, -128, 127);
  } else if (type == "unavailable") {
    available_ = false;
    priority_ = 0;
  } else {
    return;  // subscription and probe types need a 'to'
  }
  ctx_.router.set_presence(*this, available_, priority_);
  if (!sm_id_.empty() && !ctx_.config.stream_management.keep_presence) last_presence_ = presence.str(ns::kClient);
  PresenceEvent event{jid_, presence};
  host_->presence_broadcast.run(event);
}

// Output -------------------------------------------------------------------------------------

void C2SSession::deliver(std::string_view head, const std::string& bytes) {
  if (resuming_) return arrived_while_resuming_.push_back(std::string(head).append(bytes));
  if (!bound_) {
    // Resumed elsewhere: what was already on its way here follows the session.
    if (auto next = successor_.lock())
      asio::post(next->executor(), [next, s = std::string(head).append(bytes)] { next->deliver({}, s); });
    return;
  }
  if (closing_ && !sm_) return;
  if (!straight_to_output()) return output_stanza(std::string(head).append(bytes), nullptr);
  std::size_t from = out_.size();
  out_.append(head);
  out_.append(bytes);
  stanza_queued(from);
}

void C2SSession::deliver(const Element& stanza) {
  if (!straight_to_output()) {
    std::string bytes;
    xml::serialize(stanza, bytes, ns::kClient);
    if (bound_ && !resuming_ && !closing_) return output_stanza(std::move(bytes), &stanza);  // CSI needs no parse
    return deliver({}, bytes);
  }
  std::size_t from = out_.size();
  xml::serialize(stanza, out_, ns::kClient);  // no copy on the way
  stanza_queued(from);
}

// A stanza was appended to out_ at `from`: with stream management it is kept from there,
// as XML (a resumption may come over another framing), before it is framed.
void C2SSession::stanza_queued(std::size_t from) {
  if (sm_) sm_->sent(std::string_view(out_).substr(from));
  framing_->element(out_, from);
  if (sm_) return after_sent();
  queued();
}

void C2SSession::output_stanza(std::string bytes, const Element* parsed) {
  if (inactive_) {
    std::optional<Element> own;
    if (!parsed && (own = Element::parse(bytes))) parsed = &*own;
    if (parsed && CsiBuffer::can_wait(*parsed)) {
      csi_.hold(std::move(bytes), *parsed);
      if (csi_.size() < ctx_.config.csi_max_held) return;
      bytes.clear();  // full: everything goes now
    }
    for (const std::string& held : csi_.take()) write_stanza(held);
    if (bytes.empty()) return;
  }
  write_stanza(bytes);
}

void C2SSession::write_stanza(std::string_view bytes) {
  if (!hibernating_ && !closing_) append_output(bytes);
  if (!sm_) return queued();
  sm_->sent(bytes);
  after_sent();
}

void C2SSession::append_output(std::string_view bytes) {
  std::string& sink = fence_.sink(out_);
  const std::size_t from = sink.size();
  sink.append(bytes);
  framing_->element(sink, from);
  fence_.appended(sink.size() - from, &sink == &out_);
}

void C2SSession::send_stream_close() {
  framing_->close_stream(out_);
  queued();
}

// With stream management, after a stanza was queued (or, with no connection, instead) and
// kept for resending.
void C2SSession::after_sent() {
  const auto& settings = ctx_.config.stream_management;
  if (sm_->unacked_count() > settings.max_queue) {
    log::info("c2s: ", jid_.str(), ": more than ", settings.max_queue,
              " unacknowledged stanzas ([c2s.stream_management] max_queue)");
    if (hibernating_) return finish();
    return stream_error("policy-violation", "Too many unacknowledged stanzas");
  }
  if (hibernating_ || closing_) return;
  queued();
  if (!ack_requested_ && sm_->unrequested() >= settings.request_ack_every) request_ack();
  else if (sm_->unacked_count() == 1) watch_liveness();  // request_ack_after counts from now
}

void C2SSession::close_hold(std::uint64_t id) {
  if (fence_.release(id, out_) && !closing_ && !hibernating_) queued();
}

void C2SSession::replaced() {
  bound_ = false;  // the router already maps this JID to the newer session
  // Resumed by another stream, the queue went along (hand_over); replaced by a new bind of
  // the same resource, what was not acknowledged goes to it (finish).
  bool resumed = !successor_.expired();
  if (hibernating_) return finish();
  stream_error("conflict", resumed ? "Resumed by a new connection" : "Replaced by a new connection");
}

void C2SSession::send(const Element& element) {
  if (closing_) return;
  if (bound_) return deliver(element);  // a stanza like any other: counted, filtered, fenced
  std::size_t from = out_.size();
  xml::serialize(element, out_, ns::kClient);
  framing_->element(out_, from);
  schedule_write();
}

void C2SSession::send_raw(std::string_view bytes) {
  if (closing_ || hibernating_) return;
  append_output(bytes);
  queued();
}

void C2SSession::queued() {
  if (out_.size() + fence_.waiting_bytes() > ctx_.config.max_write_queue_bytes) {
    log::warn("c2s: ", jid_.str(), ": client is not reading; closing");
    out_.clear();
    closing_ = true;
    transport_->close();
    return;
  }
  schedule_write();
}

void C2SSession::schedule_write() {
  if (writing_) return;  // the write in flight takes out_ along when it completes
  writing_ = true;
  // After the current handler: everything it sends, and the deliveries already queued
  // behind it, leave in one system call (a login's header and features, a burst of messages).
  asio::post(executor(), [self = shared_from_this(), this] { write_next(); });
}

void C2SSession::write_next() {
  if (out_.empty() || !transport_->is_open()) {
    out_.clear();
    writing_ = false;
    flushed_.cancel();
    if (closing_) transport_->close_gracefully(shared_from_this());
    return;
  }
  std::swap(out_, inflight_);
  transport_->async_write(inflight_, [self = shared_from_this(), this](boost::system::error_code ec, std::size_t) {
    inflight_.clear();
    if (ec) {
      writing_ = false;
      transport_->close();
      flushed_.cancel();
      return;
    }
    write_next();
  });
}

asio::awaitable<void> C2SSession::flush() {
  while (writing_ && transport_->is_open()) {
    flushed_.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    co_await flushed_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void C2SSession::close_after_flush() {
  fence_.release_all(out_);  // the stream ends: nothing more to wait for
  closing_ = true;
  if (!writing_) transport_->close_gracefully(shared_from_this());
}

void C2SSession::stream_error(std::string_view condition, std::string_view text, std::string_view application) {
  if (closing_) return;
  if (hibernating_) return finish();  // no connection to tell
  fence_.release_all(out_);
  if (!header_sent_) framing_->open_stream(out_, {}, {});  // the error must be readable
  header_sent_ = true;
  send_raw(stream_error_element(condition, text, application, framing_->stream_prefix()));
  send_stream_close();
  log::info("c2s: ", transport_->remote_address(), (bound_ ? " " + jid_.str() : std::string()),
            ": stream error ", condition);
  close_after_flush();
}

}  // namespace xmppd::stream

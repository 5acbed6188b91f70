// The parts of a client session that keep it alive across a lost connection: stream
// management (XEP-0198: acks, hibernation, resumption), client state indication
// (XEP-0352) and the keepalive that notices a dead connection.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/rand.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "config/config.hpp"
#include "module/host.hpp"
#include "router/router.hpp"
#include "stream/c2s_session.hpp"
#include "stream/resumption_table.hpp"
#include "xml/serializer.hpp"

namespace asio = boost::asio;

namespace xmppd::stream {
namespace {

using clock = std::chrono::steady_clock;
constexpr const char* kDelay = "urn:xmpp:delay";

// 90 random bits in 15 characters: short enough to live inside the std::string (no
// allocation per session), and guessing one gains nothing (only the account's own
// sessions can be resumed).
std::string random_sm_id() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned char bytes[15];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("no random bytes");
  std::string id;
  for (unsigned char b : bytes) id += alphabet[b & 63];
  return id;
}

}  // namespace

// Nonzas -------------------------------------------------------------------------------------

void C2SSession::on_sm(const Element& nonza) {
  const auto& settings = ctx_.config.stream_management;
  const std::string& name = nonza.name();
  if (name == "enable") {
    // XEP-0198 §3: once per stream.
    if (sm_ || !settings.enabled) return sm_failed("unexpected-request");
    sm_.emplace();
    Element enabled("enabled", ns::kSm);
    std::string_view resume = nonza.attr_or("resume");
    if ((resume == "true" || resume == "1") && settings.resume_timeout.count() > 0) {
      sm_id_ = random_sm_id();
      ctx_.resumable.add(sm_id_, std::static_pointer_cast<C2SSession>(shared_from_this()));
      enabled.set_attr("id", sm_id_);
      enabled.set_attr("resume", "true");
      enabled.set_attr("max", std::to_string(settings.resume_timeout.count()));
    }
    send_raw(enabled.str(ns::kClient));
    log::debug("c2s: ", jid_.str(), ": stream management enabled", sm_id_.empty() ? "" : " (resumable)");
  } else if (name == "r") {
    if (!sm_) return sm_failed("unexpected-request");
    char a[48] = "<a xmlns='urn:xmpp:sm:3' h='";
    char* end = std::to_chars(a + 28, a + sizeof a - 3, sm_->handled()).ptr;
    send_raw(std::string_view(a, std::size_t(std::copy_n("'/>", 3, end) - a)));
  } else if (name == "a") {
    if (!sm_) return sm_failed("unexpected-request");
    auto h = StreamManagement::parse_h(nonza.attr_or("h"));
    if (!h) return stream_error("bad-format", "The 'h' of <a/> is not a number");
    if (!sm_->acknowledge(*h)) return handled_count_too_high(*h, sm_->sent_count());
    ack_requested_ = false;
  } else if (name == "resume") {
    sm_failed("unexpected-request");  // only instead of binding a resource
  } else {
    stream_error("unsupported-stanza-type");
  }
}

void C2SSession::on_csi(const Element& nonza) {
  if (nonza.name() == "inactive") {
    inactive_ = true;
  } else if (nonza.name() == "active") {
    inactive_ = false;
    for (const std::string& held : csi_.take()) write_stanza(held);
  } else {
    stream_error("unsupported-stanza-type");
  }
}

void C2SSession::sm_failed(std::string_view condition) {
  send_raw("<failed xmlns='urn:xmpp:sm:3'><" + std::string(condition) + " xmlns='" + ns::kStanzaErrors +
           "'/></failed>");
}

void C2SSession::handled_count_too_high(std::uint32_t h, std::uint32_t sent) {
  // XEP-0198 §4: acknowledging more than was sent ends the stream.
  std::string detail = "<handled-count-too-high xmlns='urn:xmpp:sm:3' h='" + std::to_string(h) + "' send-count='" +
                       std::to_string(sent) + "'/>";
  stream_error("undefined-condition",
               "You acknowledged " + std::to_string(h) + " stanzas, but only " + std::to_string(sent) + " were sent",
               detail);
}

void C2SSession::request_ack() {
  send_raw("<r xmlns='urn:xmpp:sm:3'/>");
  sm_->requested();
  ack_requested_ = true;
  if (!probe_sent_) {
    probe_sent_ = clock::now();
    watch_liveness();
  }
}

// Hibernation and resumption ------------------------------------------------------------------

void C2SSession::hibernate() {
  const auto& settings = ctx_.config.stream_management;
  auto now = clock::now();
  for (const std::string& held : csi_.take()) sm_->sent(held);  // they wait with the rest
  inactive_ = false;
  std::string unsent;
  fence_.release_all(unsent);  // counted in sm_ already: sent again when resumed
  out_.clear();
  release_output_buffers();
  transport_->discard();
  framing_->restart();
  framing_->release_if_idle();
  hibernating_ = true;
  ack_requested_ = false;
  probe_sent_.reset();
  hibernated_until_ = now + settings.resume_timeout;
  if (!settings.keep_presence && available_) {
    Element unavailable("presence", ns::kClient);
    unavailable.set_attr("type", "unavailable");
    unavailable.set_attr("from", jid_.str());
    ctx_.router.set_presence(*this, false, 0);
    PresenceEvent event{jid_, unavailable};
    host_->presence_broadcast.run(event);
  }
  SessionEvent event{jid_};
  host_->session_hibernated.run(event);
  // Logged once modules know (push waits for this state), so a reader of the log sees it in effect.
  log::info("c2s: ", jid_.str(), " hibernated: connection lost with ", sm_->unacked_count(),
            " stanza(s) unacknowledged; resumable for ", settings.resume_timeout.count(), " s");
  watch_liveness();
}

asio::awaitable<void> C2SSession::on_resume(const Element& resume) {
  auto h = StreamManagement::parse_h(resume.attr_or("h"));
  std::string previd(resume.attr_or("previd"));
  auto account = Jid::make(username_, domain_, {});
  // Only the account's own sessions: another account's id looks like an unknown one.
  std::shared_ptr<C2SSession> old;
  if (h && account && !previd.empty()) old = ctx_.resumable.find(previd);
  // Its JID was set before it entered the table and never changes: safe to read here.
  if (old && old->jid().bare() != *account) old = nullptr;
  if (!old) {
    log::info("c2s: ", transport_->remote_address(), ": no session to resume for ", username_, '@', domain_);
    co_return sm_failed("item-not-found");
  }
  auto self = std::static_pointer_cast<C2SSession>(shared_from_this());
  resuming_ = true;
  // On the old session's thread: it hands its state over and the router maps its JID here.
  auto take = [old, self, h = *h]() -> asio::awaitable<std::optional<Handover>> { co_return old->hand_over(self, h); };
  std::optional<Handover> state = co_await asio::co_spawn(old->executor(), take, asio::use_awaitable);
  resuming_ = false;
  if (!state) co_return sm_failed("item-not-found");  // it ended meanwhile
  if (state->handled_count_too_high) co_return handled_count_too_high(*h, state->sent);

  // jid_ was set by hand_over, before the router mapped it to this session.
  sm_ = std::move(state->sm);
  sm_id_ = std::move(state->sm_id);
  available_ = state->available;
  priority_ = state->priority;
  last_presence_ = std::move(state->last_presence);
  bound_ = true;
  auth_timer_.cancel();
  ctx_.resumable.add(sm_id_, self);
  send_raw("<resumed xmlns='urn:xmpp:sm:3' previd='" + sm_id_ + "' h='" + std::to_string(sm_->handled()) + "'/>");
  // XEP-0198 §5: what the client has not acknowledged, again and in order, then what
  // arrived during the hand-over.
  std::size_t resent = sm_->unacked_count();
  for (std::size_t i = 0; i < resent; ++i) append_output(sm_->unacked(i));
  queued();
  for (const std::string& stanza : std::exchange(arrived_while_resuming_, {})) write_stanza(stanza);
  log::info("c2s: ", transport_->remote_address(), " resumed ", jid_.str(), " (", resent, " stanza(s) sent again)");
  if (!ctx_.config.stream_management.keep_presence && !last_presence_.empty()) {
    if (auto presence = Element::parse(last_presence_)) on_broadcast_presence(*presence);
  }
  SessionEvent event{jid_};
  host_->session_resumed.run(event);
  watch_liveness();
  if (sm_->unacked_count() && !ack_requested_) request_ack();
}

std::optional<C2SSession::Handover> C2SSession::hand_over(const std::shared_ptr<C2SSession>& next, std::uint32_t h) {
  if (!bound_ || !sm_ || sm_id_.empty() || closing_) return std::nullopt;
  if (!sm_->acknowledge(h)) {
    Handover refused;
    refused.handled_count_too_high = true;
    refused.sent = sm_->sent_count();
    return refused;
  }
  for (const std::string& held : csi_.take()) sm_->sent(held);
  bool keep_presence = ctx_.config.stream_management.keep_presence;
  Handover state{false, 0, jid_, std::move(*sm_), sm_id_, available_, priority_, std::move(last_presence_)};
  sm_.reset();
  ctx_.resumable.remove(std::exchange(sm_id_, {}));
  successor_ = next;
  // `next` is suspended until this returns: nothing on its thread reads its JID meanwhile.
  next->jid_ = jid_;
  // Stanzas routed from now on go to `next` (which holds them until it has the state);
  // those already posted here follow it (deliver()). replaced() runs here, now.
  ctx_.router.bind(next);
  ctx_.router.set_presence(*next, keep_presence && available_, priority_);
  return state;
}

void C2SSession::reroute_unacked() {
  if (!sm_) return;
  std::vector<std::string> unacked = sm_->take_unacked();
  sm_.reset();
  if (unacked.empty()) return;
  // What the client may not have read is not lost (XEP-0198 §5 end): messages take the
  // route again (another resource, or offline storage), requests are answered with an
  // error; presence and the rest are stale by now.
  std::size_t messages = 0;
  for (const std::string& bytes : unacked) {
    auto stanza = Element::parse(bytes);
    if (!stanza) continue;
    std::string_view type = stanza->attr_or("type");
    if (stanza->name() == "message" && type != "error" && type != "groupchat" && type != "headline") {
      ++messages;
      // XEP-0203: it reaches its reader late; a stamp from an earlier delay stays.
      bool stamped = false;
      for (const Element& n : stanza->nodes()) stamped |= n.is("delay", kDelay) && n.attr_or("from") == domain_;
      if (!stamped) {
        Element& delay = stanza->add_child("delay", kDelay);
        delay.set_attr("from", domain_);
        delay.set_attr("stamp", stanza::datetime());
      }
      ctx_.router.reroute(std::move(*stanza));
    } else if (stanza->name() == "iq" && (type == "get" || type == "set")) {
      ctx_.router.route(stanza::error(*stanza, "recipient-unavailable"));
    }
  }
  log::info("c2s: ", jid_.str(), ": ", unacked.size(), " unacknowledged stanza(s), ", messages,
            " message(s) routed again");
}

// Liveness --------------------------------------------------------------------------------------

// Arms the timer for the earliest thing due: the end of a hibernation, the answer to a
// probe, the next keepalive, or an ack request for stanzas waiting too long.
void C2SSession::watch_liveness() {
  const auto& settings = ctx_.config.stream_management;
  clock::time_point due;
  if (hibernating_) {
    due = hibernated_until_;
  } else if (probe_sent_) {
    due = *probe_sent_ + ctx_.config.keepalive_timeout;
  } else {
    due = last_read_ + ctx_.config.keepalive_interval;
    if (sm_ && !ack_requested_)
      if (auto oldest = sm_->oldest_unacked()) due = std::min(due, *oldest + settings.request_ack_after);
  }
  if (due >= liveness_due_) return;  // the pending wait comes first and looks again then
  liveness_due_ = due;
  liveness_timer_.expires_at(due);
  liveness_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;
    if (auto s = std::static_pointer_cast<C2SSession>(weak.lock())) s->on_liveness_timer();
  });
}

void C2SSession::on_liveness_timer() {
  liveness_due_ = clock::time_point::max();
  if (closing_) return;
  auto now = clock::now();
  if (hibernating_) {
    if (now >= hibernated_until_) return finish();
    return watch_liveness();
  }
  if (probe_sent_) {
    if (last_read_ > *probe_sent_) {
      probe_sent_.reset();  // anything read since counts as an answer
    } else if (now >= *probe_sent_ + ctx_.config.keepalive_timeout) {
      log::info("c2s: ", jid_.str(), ": no answer to a keepalive within ", ctx_.config.keepalive_timeout.count(),
                " s; the connection is dead");
      transport_->close();  // the read loop ends: the session hibernates or ends
      return;
    }
  }
  if (sm_ && !ack_requested_)
    if (auto oldest = sm_->oldest_unacked(); oldest && now >= *oldest + ctx_.config.stream_management.request_ack_after)
      request_ack();
  if (!probe_sent_ && now >= last_read_ + ctx_.config.keepalive_interval) {
    if (sm_) {
      request_ack();
    } else if (framing_->probe(out_)) {  // a WebSocket ping: its pong is a read
      queued();
      probe_sent_ = now;
    } else {
      Element ping("iq", ns::kClient);
      ping.set_attr("type", "get");
      ping.set_attr("id", "keepalive");
      ping.set_attr("from", domain_);
      ping.set_attr("to", jid_.str());
      ping.add_child("ping", "urn:xmpp:ping");
      send(ping);
      probe_sent_ = now;
    }
  }
  watch_liveness();
}

}  // namespace xmppd::stream

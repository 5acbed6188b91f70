#include "net/bosh_connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <stdexcept>

#include <xmppd/namespaces.hpp>

#include "common/log.hpp"
#include "xml/serializer.hpp"

namespace asio = boost::asio;

namespace xmppd::net {
namespace {

constexpr const char* kHttpBind = "http://jabber.org/protocol/httpbind";
constexpr const char* kXbosh = "urn:xmpp:xbosh";

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::chrono::seconds seconds_attr(const Element& body, std::string_view name, std::chrono::seconds fallback,
                                  std::chrono::seconds most) {
  auto value = number(body.attr_or(name));
  if (!value) return fallback;
  return std::min(std::chrono::seconds(static_cast<std::int64_t>(std::min<std::uint64_t>(*value, 86400))), most);
}

}  // namespace

BoshConnection::BoshConnection(asio::any_io_executor executor, std::string sid, const Element& creation,
                               std::string remote_address, bool secure, Limits limits)
    : executor_(std::move(executor)),
      sid_(std::move(sid)),
      domain_(creation.attr_or("to")),
      remote_address_(std::move(remote_address)),
      secure_(secure),
      limits_(limits),
      wait_(seconds_attr(creation, "wait", limits.max_wait, limits.max_wait)),
      hold_(static_cast<unsigned>(std::min<std::uint64_t>(number(creation.attr_or("hold")).value_or(kMaxHold), kMaxHold))),
      inactivity_(limits.inactivity),
      next_rid_(number(creation.attr_or("rid")).value_or(0)),
      ordered_(executor_),
      idle_(executor_),
      input_ready_(executor_) {}

BoshConnection::~BoshConnection() = default;

std::string BoshConnection::terminate(std::string_view condition) {
  return std::string("<body xmlns='") + kHttpBind + "' type='terminate' condition='" + std::string(condition) + "'/>";
}

asio::awaitable<std::string> BoshConnection::request(Element body) {
  auto self = shared_from_this();  // alive until this request is answered
  auto rid = number(body.attr_or("rid"));
  if (!rid) co_return terminate("bad-request");
  // XEP-0124 §14.3: a retransmission gets the answer it had; outside the window, the end.
  if (*rid < next_rid_) {
    auto it = answered_.find(*rid);
    co_return it != answered_.end() ? it->second : terminate("item-not-found");
  }
  if (closed_) {
    // The session ended since the last request: its last words, then the end.
    lingering_ = false;
    idle_.cancel();
    co_return answer(false);
  }
  if (*rid > next_rid_ + hold_) {
    log::info("bosh: ", sid_, ": rid ", *rid, " is outside the window (expected ", next_rid_, ')');
    close();
    co_return terminate("item-not-found");
  }
  // Requests are taken in rid order: one that overtook an earlier one waits for it.
  if (*rid != next_rid_) {
    boost::system::error_code ec;
    ordered_.expires_after(wait_);
    co_await ordered_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (*rid != next_rid_ && !closed_) {
      close();
      co_return terminate("item-not-found");
    }
  }
  if (closed_) co_return answer(false);
  const bool first = !opened_;  // the creation request: its answer carries the session's attributes
  const bool terminate_now = body.attr_or("type") == "terminate";
  const auto pause = seconds_attr(body, "pause", std::chrono::seconds(0), kMaxPause);
  const bool restart = body.attr_or(std::string(kXbosh) + "|restart") == "true";
  // XEP-0124 §12: a polling session (hold 0) that asks again for nothing sooner than
  // 'polling' after an empty answer is ended.
  const bool empty = !body.first_child() && !terminate_now && pause.count() == 0 && !restart;
  const auto now = std::chrono::steady_clock::now();
  if (hold_ == 0 && empty && last_empty_answer_ && now - *last_empty_answer_ < kPolling) {
    log::info("bosh: ", sid_, ": polling faster than every ", kPolling.count(), " s");
    close();
    co_return terminate("policy-violation");
  }
  ++next_rid_;
  opened_ = true;
  ordered_.cancel();  // whoever waited for this rid goes on
  idle_.cancel();

  if (terminate_now) terminating_ = true;
  if (pause.count() > 0) {
    // XEP-0124 §10: every held request is answered at once (this one too), and the session
    // waits that long.
    inactivity_ = pause;
    wake_all();
  } else {
    inactivity_ = limits_.inactivity;
  }
  take_input(body, first || restart);

  auto wake = std::make_shared<asio::steady_timer>(executor_);
  held_.push_back(Held{*rid, wake});
  if (held_.size() > hold_) wake_oldest();  // a newer request needs its place
  wake->expires_after(pause.count() > 0 ? std::chrono::seconds(0) : wait_);
  for (;;) {
    const bool oldest = held_.front().rid == *rid;
    // (The creation's answer waits for the stream features even in a polling session.)
    if (closed_ || (oldest && (!output_.empty() || (held_.size() > hold_ && !first)))) break;
    boost::system::error_code ec;
    co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!ec) break;  // `wait` passed: an empty answer
  }
  std::erase_if(held_, [&](const Held& h) { return h.rid == *rid; });
  if (output_.empty() && empty) last_empty_answer_ = std::chrono::steady_clock::now();
  else last_empty_answer_.reset();
  std::string reply = answer(first);
  answered_[*rid] = reply;
  while (answered_.size() > hold_ + 1) answered_.erase(answered_.begin());
  if (!output_.empty()) wake_oldest();
  if (held_.empty()) watch_inactivity();
  co_return reply;
}

void BoshConnection::take_input(const Element& body, bool opens_stream) {
  if (opens_stream) {
    input_ += "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='";
    xml::escape_attr(domain_, input_);
    input_ += "' version='1.0'>";
  }
  for (const Element& child : body.nodes()) {
    if (child.is_text()) continue;
    if (child.ns() == kHttpBind) {  // a stanza that left its namespace to the <body/>
      Element stanza = child;
      stanza.set_ns(ns::kClient);
      xml::serialize(stanza, input_, ns::kClient);
    } else {
      xml::serialize(child, input_, ns::kClient);
    }
  }
  if (terminating_) input_ += "</stream:stream>";
  if (!input_.empty()) input_ready_.cancel();
}

std::string BoshConnection::answer(bool first) {
  std::string out = std::string("<body xmlns='") + kHttpBind + "' xmlns:stream='http://etherx.jabber.org/streams'";
  if (first) {
    out += " xmlns:xmpp='urn:xmpp:xbosh' sid='" + sid_ + "' wait='" + std::to_string(wait_.count()) +
           "' requests='" + std::to_string(hold_ + 1) + "' hold='" + std::to_string(hold_) +
           "' inactivity='" + std::to_string(limits_.inactivity.count()) + "' polling='" + std::to_string(kPolling.count()) +
           "' maxpause='" + std::to_string(kMaxPause.count()) + "' ver='1.11' from='";
    xml::escape_attr(domain_, out);
    out += std::string("' secure='") + (secure_ ? "true" : "false") + "' xmpp:version='1.0' xmpp:restartlogic='true'";
  }
  if (closed_) {
    out += " type='terminate'";
    if (output_.find("<stream:error") != std::string::npos) out += " condition='remote-stream-error'";
  }
  if (output_.empty()) return out + "/>";
  out += '>';
  out += output_;
  output_.clear();
  return out + "</body>";
}

asio::awaitable<std::string_view> BoshConnection::read() {
  while (input_.empty() && !closed_) {
    boost::system::error_code ec;
    input_ready_.expires_at(asio::steady_timer::time_point::max());
    co_await input_ready_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  delivered_.clear();
  std::swap(delivered_, input_);
  co_return std::string_view(delivered_);  // empty once closed: the end of the stream
}

void BoshConnection::async_write(std::string_view data, WriteHandler handler) {
  boost::system::error_code ec;
  if (closed_ && !lingering_) {
    ec = asio::error::not_connected;
  } else if (output_.size() + data.size() > limits_.max_pending_bytes) {
    log::warn("bosh: ", sid_, ": the client is not collecting its stanzas; closing");
    ec = asio::error::no_buffer_space;
    output_.clear();
    close();
  } else {
    output_.append(data);
    wake_oldest();
  }
  asio::post(executor_, [handler = std::move(handler), ec, n = data.size()] { handler(ec, ec ? 0 : n); });
}

asio::awaitable<void> BoshConnection::start_tls(asio::ssl::context&) {
  throw std::logic_error("BOSH has no STARTTLS: its TLS is the HTTPS of its requests");
  co_return;
}

void BoshConnection::wake_oldest() {
  if (!held_.empty()) held_.front().wake->cancel();
}

void BoshConnection::wake_all() {
  for (auto& h : held_) h.wake->cancel();
}

void BoshConnection::watch_inactivity() {
  idle_.expires_after(inactivity_);
  idle_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || !self->held_.empty() || self->closed_) return;
    log::info("bosh: ", self->sid_, ": no request for ", self->inactivity_.count(), " s; the session is over");
    self->close();  // to the session, as a dropped connection
  });
}

void BoshConnection::close() {
  if (closed_) return;
  closed_ = true;
  input_ready_.cancel();
  ordered_.cancel();
  wake_all();
}

void BoshConnection::discard() {
  close();
  std::string().swap(output_);
  std::string().swap(input_);
}

void BoshConnection::close_gracefully(std::shared_ptr<void>) {
  const bool was_open = !closed_;
  close();
  if (!was_open || !held_.empty()) return;  // a held request carries the last words now
  // None to carry them yet: they wait for the next request, or the inactivity timeout.
  lingering_ = true;
  idle_.expires_after(inactivity_);
  idle_.async_wait([self = shared_from_this()](boost::system::error_code) { self->lingering_ = false; });
}

}  // namespace xmppd::net

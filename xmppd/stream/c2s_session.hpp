// One client connection: stream negotiation (STARTTLS, SASL, bind) and then stanzas
// between the client and the router (RFC 6120 §4-§8).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

#include "auth/sasl_server.hpp"
#include "net/read_rate.hpp"
#include "net/transport.hpp"
#include "router/session.hpp"
#include "stream/csi_buffer.hpp"
#include "stream/framing.hpp"
#include "stream/output_fence.hpp"
#include "stream/stream_management.hpp"

namespace xmppd::config { struct Config; }
namespace xmppd::net { class TlsContexts; }
namespace xmppd::router { class Router; }
namespace xmppd::storage { class StorageThread; }
namespace xmppd::auth { class AuthThrottle; }
namespace xmppd::module { struct Host; }

namespace xmppd::stream {

class SessionRegistry;
class ResumptionTable;

// What a client stream needs from the server around it.
struct C2SContext {
  const config::Config& config;
  net::TlsContexts& tls;
  router::Router& router;
  storage::StorageThread& storage;
  auth::AuthThrottle& throttle;
  SessionRegistry& registry;
  ResumptionTable& resumable;
};

class C2SSession final : public router::Session {
 public:
  C2SSession(C2SContext& ctx, boost::asio::ip::tcp::socket socket, const boost::asio::ip::tcp::endpoint& peer,
             bool direct_tls);
  // A stream on a connection another layer accepted (a WebSocket after its HTTP upgrade, a
  // BOSH session). `early_input`: bytes that layer read past its own part, the start of the
  // stream.
  C2SSession(C2SContext& ctx, std::shared_ptr<net::Connection> connection, std::unique_ptr<Framing> framing,
             std::string early_input = {});
  ~C2SSession() override;

  // Runs the connection on its socket's executor until it closes.
  void start();
  // Ends the stream with a stream error (e.g. "system-shutdown"). Runs on executor().
  void stream_error(std::string_view condition, std::string_view text = {}, std::string_view application = {});

  // router::Session
  const Jid& jid() const override { return jid_; }
  boost::asio::any_io_executor executor() override;
  void deliver(std::string_view head, const std::string& bytes) override;
  void deliver(const Element& stanza) override;
  void replaced() override;
  void end(std::string_view condition, std::string_view text) override { stream_error(condition, text); }

 protected:
  std::uint64_t open_hold() override { return fence_.hold(); }
  void close_hold(std::uint64_t id) override;

 private:
  // What a resumed session takes over from the one it resumes (XEP-0198 §5).
  struct Handover {
    bool handled_count_too_high = false;
    std::uint32_t sent = 0;  // for the error text when it is too high
    Jid jid;
    StreamManagement sm;
    std::string sm_id;
    bool available = false;
    int priority = 0;
    std::string last_presence;
  };

  bool secure() const { return transport_->secure(); }
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> handle(xml::Event& event);
  void on_stream_open(const Element& header);
  void send_features();
  boost::asio::awaitable<void> on_negotiation(Element& element);
  boost::asio::awaitable<void> on_starttls();
  boost::asio::awaitable<void> handshake(boost::asio::ssl::context& tls);
  boost::asio::awaitable<void> on_sasl(Element& element);
  boost::asio::awaitable<void> fetch_secrets(std::string_view mechanism, std::string_view message);
  void on_sasl_step(const auth::SaslExchange::Step& step);
  void sasl_failure(std::string_view condition, std::string_view text = {});
  bool on_unauthenticated_iq(Element& iq);
  void on_bind(Element& iq);
  void on_stanza(Element& stanza);
  void on_broadcast_presence(Element& presence);

  // Stream management (XEP-0198) and client state (XEP-0352).
  void on_sm(const Element& nonza);
  void on_csi(const Element& nonza);
  boost::asio::awaitable<void> on_resume(const Element& resume);
  std::optional<Handover> hand_over(const std::shared_ptr<C2SSession>& next, std::uint32_t h);
  void sm_failed(std::string_view condition);
  void handled_count_too_high(std::uint32_t h, std::uint32_t sent);
  void request_ack();
  void hibernate();
  void reroute_unacked();
  void watch_liveness();
  void on_liveness_timer();

  void send(const Element& element);
  // One whole element, already serialized (a nonza, the features, a stream error).
  void send_raw(std::string_view bytes);
  // A stanza for the client, serialized: through CSI, counted and kept by SM, then fenced.
  void output_stanza(std::string bytes, const Element* parsed);
  void write_stanza(std::string_view bytes);
  void stanza_queued(std::size_t from);
  void after_sent();
  void send_stream_close();
  // Appends to out_, or behind the fence while output is held.
  void append_output(std::string_view bytes);
  // Whether a stanza may be serialized straight into out_ (nothing holds it back).
  bool straight_to_output() const {
    return bound_ && !resuming_ && !closing_ && !hibernating_ && !inactive_ && fence_.open();
  }
  // After appending to out_: writes it, or drops a client that stopped reading.
  void queued();
  void schedule_write();
  void write_next();
  void watch_for_quiet(std::chrono::steady_clock::time_point due);
  void release_output_buffers();
  boost::asio::awaitable<void> flush();
  void close_after_flush();
  void finish();

  C2SContext& ctx_;
  std::shared_ptr<net::Connection> transport_;
  bool direct_tls_;
  std::unique_ptr<Framing> framing_;
  std::string early_input_;
  net::ReadRate read_rate_;

  // Negotiation state.
  std::string domain_;
  module::Host* host_ = nullptr;  // the host's module registrations
  std::string stream_id_;
  bool header_sent_ = false;
  bool restart_ = false;   // the parser must start a new stream (after STARTTLS / SASL)
  bool handshaking_ = false;  // a TLS handshake is in progress
  bool authenticated_ = false;
  bool bound_ = false;
  bool closing_ = false;
  std::unique_ptr<auth::SaslExchange> sasl_;
  std::string sasl_mechanism_;
  unsigned sasl_failures_ = 0;
  std::string username_;
  Jid jid_;

  // Output: bytes queued while a write is in flight go to out_, then swap.
  std::string out_;
  std::string inflight_;
  bool writing_ = false;  // a write is scheduled or in flight
  boost::asio::steady_timer flushed_;      // cancelled whenever the output drains
  boost::asio::steady_timer auth_timer_;   // unauthenticated streams do not linger

  // Quiet sessions release their XML parser a period after their last read.
  static constexpr std::chrono::milliseconds kQuietPeriod{100};
  boost::asio::steady_timer quiet_timer_;
  std::chrono::steady_clock::time_point last_read_;
  bool quiet_watch_ = false;

  // Durability: output waits for the storage writes the client's earlier stanzas caused.
  OutputFence fence_;

  // Stream management: set once the client enabled it.
  std::optional<StreamManagement> sm_;
  std::string sm_id_;               // non-empty: the session may be resumed with this id
  bool hibernating_ = false;        // the connection is gone; stanzas wait in sm_
  std::chrono::steady_clock::time_point hibernated_until_;
  bool ack_requested_ = false;      // our <r/> has not been answered yet
  bool resuming_ = false;           // a <resume/> is taking over another session
  std::vector<std::string> arrived_while_resuming_;
  std::weak_ptr<C2SSession> successor_;  // the session that resumed this one
  bool available_ = false;          // as last broadcast, restored after a resumption
  int priority_ = 0;
  std::string last_presence_;       // kept while resumable and keep_presence is off

  // Liveness: keepalive probes and SM ack requests by time share one timer.
  boost::asio::steady_timer liveness_timer_;
  std::chrono::steady_clock::time_point liveness_due_ = std::chrono::steady_clock::time_point::max();
  std::optional<std::chrono::steady_clock::time_point> probe_sent_;

  // Client state indication: while inactive, what can wait is held here.
  bool inactive_ = false;
  CsiBuffer csi_;
};

}  // namespace xmppd::stream

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
#include "xml/stream_parser.hpp"

namespace xmppd::config { struct Config; }
namespace xmppd::net { class TlsContexts; }
namespace xmppd::router { class Router; }
namespace xmppd::storage { class StorageThread; }
namespace xmppd::auth { class AuthThrottle; }
namespace xmppd::module { struct Host; }

namespace xmppd::stream {

class SessionRegistry;

// What a client stream needs from the server around it.
struct C2SContext {
  const config::Config& config;
  net::TlsContexts& tls;
  router::Router& router;
  storage::StorageThread& storage;
  auth::AuthThrottle& throttle;
  SessionRegistry& registry;
};

class C2SSession final : public router::Session {
 public:
  C2SSession(C2SContext& ctx, boost::asio::ip::tcp::socket socket, const boost::asio::ip::tcp::endpoint& peer,
             bool direct_tls);
  ~C2SSession() override;

  // Runs the connection on its socket's executor until it closes.
  void start();
  // Ends the stream with a stream error (e.g. "system-shutdown"). Runs on executor().
  void stream_error(std::string_view condition, std::string_view text = {});

  // router::Session
  const Jid& jid() const override { return jid_; }
  boost::asio::any_io_executor executor() override;
  void deliver(std::string_view head, const std::string& bytes) override;
  void deliver(const Element& stanza) override;
  void replaced() override;
  void end(std::string_view condition, std::string_view text) override { stream_error(condition, text); }

 private:
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

  void send(const Element& element);
  void send_raw(std::string_view bytes);
  // After appending to out_: writes it, or drops a client that stopped reading.
  void queued();
  void schedule_write();
  void write_next();
  void watch_for_quiet(std::chrono::steady_clock::time_point due);
  boost::asio::awaitable<void> flush();
  void close_after_flush();
  void finish();

  C2SContext& ctx_;
  net::Transport transport_;
  bool direct_tls_;
  xml::StreamParser parser_;
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
};

}  // namespace xmppd::stream

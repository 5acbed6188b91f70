// One BOSH session (XEP-0124, XEP-0206): the Connection a c2s session is carried on when
// the client speaks HTTP requests instead of keeping a socket. Requests arrive in 'rid'
// order (a retransmitted one gets its cached answer again); their payloads become the
// session's input; each request is held until there is output for it, `wait` seconds pass,
// or a newer request needs its place (`hold`). A session without a request for `inactivity`
// seconds is over, as a dropped TCP connection is (so stream management may resume it).
//
// Everything runs on the session's executor; requests from other threads hop there.
#pragma once

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <xmppd/element.hpp>

#include "net/connection.hpp"

namespace xmppd::net {

class BoshConnection final : public Connection, public std::enable_shared_from_this<BoshConnection> {
 public:
  // What the connection manager allows (XEP-0124 §7.1); requests ask for at most this.
  struct Limits {
    std::chrono::seconds max_wait;
    std::chrono::seconds inactivity;
    std::size_t max_pending_bytes;  // output the client does not collect, before the session ends
  };
  static constexpr std::chrono::seconds kMaxPause{120};
  static constexpr unsigned kMaxHold = 1;
  static constexpr std::chrono::seconds kPolling{2};

  // `creation`: the session creation request (its 'rid', 'wait', 'hold', 'to').
  BoshConnection(boost::asio::any_io_executor executor, std::string sid, const Element& creation,
                 std::string remote_address, bool secure, Limits limits);
  ~BoshConnection() override;

  const std::string& sid() const { return sid_; }
  // A request of this session: what to answer (a <body/>, serialized). On executor().
  boost::asio::awaitable<std::string> request(Element body);
  // The answer to a request for a session that does not exist (any more), or cannot start.
  static std::string terminate(std::string_view condition);

  // Connection
  boost::asio::any_io_executor executor() override { return executor_; }
  boost::asio::awaitable<std::string_view> read() override;
  void async_write(std::string_view data, WriteHandler handler) override;
  boost::asio::awaitable<void> start_tls(boost::asio::ssl::context&) override;
  bool secure() const override { return secure_; }
  bool is_open() const override { return !closed_; }
  const std::string& remote_address() const override { return remote_address_; }
  void close() override;
  void discard() override;
  void close_gracefully(std::shared_ptr<void> keep_alive) override;

 private:
  struct Held {
    std::uint64_t rid;
    std::shared_ptr<boost::asio::steady_timer> wake;
  };

  // The request's payload as session input: a stream header to begin, its stanzas, the end.
  void take_input(const Element& body, bool opens_stream);
  // The <body/> a held request answers with, carrying all output so far.
  std::string answer(bool first);
  void wake_oldest();
  void wake_all();
  void watch_inactivity();
  void end();

  boost::asio::any_io_executor executor_;
  std::string sid_;
  std::string domain_;
  std::string remote_address_;
  bool secure_;
  Limits limits_;
  std::chrono::seconds wait_;
  unsigned hold_;
  std::chrono::seconds inactivity_;

  std::uint64_t next_rid_;  // the rid the next new request must carry
  std::map<std::uint64_t, std::string> answered_;  // the last few answers, for retransmissions
  std::deque<Held> held_;
  boost::asio::steady_timer ordered_;   // out-of-order requests wait here for the ones before
  boost::asio::steady_timer idle_;      // inactivity
  boost::asio::steady_timer input_ready_;

  std::string input_;      // for the session's next read()
  std::string delivered_;  // what its last read() returned
  std::string output_;     // for the next response
  std::optional<std::chrono::steady_clock::time_point> last_empty_answer_;  // to an empty request
  bool opened_ = false;    // the creation request was taken
  bool closed_ = false;    // the session closed this connection, or the client or time ended it
  bool terminating_ = false;  // the client asked to terminate
  // Closed with last words and no request to carry them: this connection keeps itself (in
  // its inactivity timer's handler, so a shutdown frees it too) until a request comes.
  bool lingering_ = false;
};

}  // namespace xmppd::net

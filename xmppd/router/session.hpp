// What the router knows of a client session: an address and a way to hand it a stanza.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

namespace xmppd::router {

class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;

  // The full JID the session is bound to.
  virtual const Jid& jid() const = 0;
  // The executor (network thread) the session lives on. Every call below runs there.
  virtual boost::asio::any_io_executor executor() = 0;

  // Writes a stanza already serialized in the jabber:client namespace: `head` (this
  // recipient's own start, may be empty) followed by `bytes` (shared by every recipient).
  virtual void deliver(std::string_view head, const std::string& bytes) = 0;
  // Writes a stanza for this session alone, serialized straight into its output.
  virtual void deliver(const Element& stanza) = 0;
  // A newer session bound the same full JID: end this one with <conflict/>.
  virtual void replaced() = 0;
  // Ends the stream with a stream error (account removed, shutdown, ...).
  virtual void end(std::string_view condition, std::string_view text) = 0;

  // Holds back what the session is sent from now on until the returned hold (every copy,
  // dropped on any thread) is gone. Call on executor(); see stanza_cause.hpp.
  std::shared_ptr<void> hold_output();

  // Whether the router's table maps the JID to this session: set by the router, read from
  // any thread by whoever keeps the session to deliver to it later (an Audience).
  bool routed() const { return routed_.load(std::memory_order_acquire); }

 protected:
  // The session's side of hold_output(): opens a hold, and closes it (on executor()).
  virtual std::uint64_t open_hold() = 0;
  virtual void close_hold(std::uint64_t id) = 0;

 private:
  friend class Router;
  mutable std::atomic<bool> routed_{false};
};

}  // namespace xmppd::router

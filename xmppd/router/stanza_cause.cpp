#include "router/stanza_cause.hpp"

#include <boost/asio/post.hpp>

#include "router/session.hpp"

namespace xmppd::router {
namespace {
thread_local StanzaCause* current = nullptr;
}

StanzaCause::StanzaCause(Session& session) : session_(&session), outer_(current) { current = this; }
StanzaCause::StanzaCause(OutputHold hold) : hold_(std::move(hold)), outer_(current) { current = this; }
StanzaCause::~StanzaCause() { current = outer_; }

OutputHold StanzaCause::hold() {
  if (!current) return nullptr;
  if (!current->hold_ && current->session_) current->hold_ = current->session_->hold_output();
  return current->hold_;
}

}  // namespace xmppd::router

namespace xmppd::router {

std::shared_ptr<void> Session::hold_output() {
  // The last copy may die on any thread: the hold is closed on the session's own.
  struct Release {
    Release(std::weak_ptr<Session> s, std::uint64_t i) : session(std::move(s)), id(i) {}
    Release(const Release&) = delete;
    ~Release() {
      if (auto s = session.lock())
        boost::asio::post(s->executor(), [s, id = id] { s->close_hold(id); });
    }
    std::weak_ptr<Session> session;
    std::uint64_t id;
  };
  return std::make_shared<Release>(weak_from_this(), open_hold());
}

}  // namespace xmppd::router

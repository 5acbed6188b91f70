// Which client session's stanza this thread is handling, so that a storage write the
// stanza causes can hold that session's later output back until the write has committed
// (see stream/output_fence.hpp). Set as a scope around the handling; modules reach it
// through ModuleContext::output_hold().
#pragma once

#include <memory>

namespace xmppd::router {

class Session;

// While any copy lives, the session's output queued after it was taken waits.
using OutputHold = std::shared_ptr<void>;

class StanzaCause {
 public:
  // Around the synchronous handling of a stanza the session sent, on its thread.
  explicit StanzaCause(Session& session);
  // Around an asynchronous continuation of that handling, with the hold it took.
  explicit StanzaCause(OutputHold hold);
  ~StanzaCause();
  StanzaCause(const StanzaCause&) = delete;
  StanzaCause& operator=(const StanzaCause&) = delete;

  // A hold for the stanza this thread handles (taken once, then shared); nullptr when the
  // stanza came from no client session (the server itself, a component's timer).
  static OutputHold hold();

 private:
  Session* session_ = nullptr;
  OutputHold hold_;
  StanzaCause* outer_;
};

}  // namespace xmppd::router

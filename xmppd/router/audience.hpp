// The core's Audience (module API): a fan-out list whose recipients were looked up once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <xmppd/module.hpp>

#include "router/session.hpp"

namespace xmppd::router {

class Router;

class SessionAudience final : public Audience {
 public:
  SessionAudience(Router& router, std::vector<Jid> recipients);
  void send(const Element& stanza) override;

 private:
  struct Member {
    Jid jid;
    std::string to_attr;               // " to='…'", escaped once
    std::shared_ptr<Session> session;  // null when it was not bound here at the last look
  };
  // Whether the member has a session here; looked up again if the one kept is no longer
  // routed to.
  bool reachable(Member& member);

  Router& router_;
  std::vector<Member> members_;
};

}  // namespace xmppd::router

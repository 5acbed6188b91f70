#include "router/audience.hpp"

#include "router/router.hpp"

namespace xmppd::router {

SessionAudience::SessionAudience(Router& router, std::vector<Jid> recipients) : router_(router) {
  members_.reserve(recipients.size());
  for (Jid& jid : recipients) {
    Member member{std::move(jid), {}, nullptr};
    Router::append_to_attr(member.to_attr, member.jid);
    if (!member.jid.is_bare()) member.session = router_.find(member.jid);
    members_.push_back(std::move(member));
  }
}

bool SessionAudience::reachable(Member& member) {
  // A session that ended or was replaced by a newer one of the same JID is no longer routed
  // to; the router's table says who has the JID now, if anyone.
  if (member.session && member.session->routed()) return true;
  member.session = member.jid.is_bare() ? nullptr : router_.find(member.jid);
  return member.session != nullptr;
}

void SessionAudience::send(const Element& stanza) {
  auto tail = Router::shared_tail(stanza);
  auto from = Jid::parse(stanza.attr_or("from"));
  std::string head;
  for (Member& member : members_) {
    if (!reachable(member)) {
      router_.route_copy(stanza, member.jid);  // the incoming hooks judge it there
      continue;
    }
    if (!router_.accepts(member.jid, from)) continue;
    head.assign("<").append(stanza.name()).append(member.to_attr);
    Router::deliver_copy(member.session, head, tail);
  }
}

}  // namespace xmppd::router

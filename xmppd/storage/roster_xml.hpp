// A roster item on the wire (RFC 6121 §2.1.2), shared by the modules that push roster
// changes (roster sets, subscription changes) so both describe an item alike.
#pragma once

#include <string>

#include <xmppd/element.hpp>

#include "storage/roster_store.hpp"

namespace xmppd::storage {

inline constexpr const char* kRosterNs = "jabber:iq:roster";

// <item jid name subscription ask approved><group/>...</item>
inline Element roster_item_element(const RosterItem& item) {
  Element e("item", kRosterNs);
  e.set_attr("jid", item.jid);
  if (!item.name.empty()) e.set_attr("name", item.name);
  e.set_attr("subscription", to_string(item.subscription));
  if (item.ask) e.set_attr("ask", "subscribe");
  if (item.approved) e.set_attr("approved", "true");
  for (const std::string& group : item.groups) e.add_child("group", kRosterNs).add_text(group);
  return e;
}

// A roster push (§2.1.6) of `item` to one of the user's resources. Pushes come from the
// user's bare JID; `id` must be unique enough for the client to answer it.
inline Element roster_push(const std::string& user_bare, const std::string& to_full, std::string id,
                           Element item, std::int64_t version) {
  Element iq("iq", "jabber:client");
  iq.set_attr("type", "set");
  iq.set_attr("id", std::move(id));
  iq.set_attr("from", user_bare);
  iq.set_attr("to", to_full);
  Element& query = iq.add_child("query", kRosterNs);
  query.set_attr("ver", std::to_string(version));
  query.add_child(std::move(item));
  return iq;
}

}  // namespace xmppd::storage

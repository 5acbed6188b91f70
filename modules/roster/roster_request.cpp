#include "roster_request.hpp"

#include <algorithm>

namespace xmppd::roster {
namespace {

constexpr std::size_t kMaxTextBytes = 1023;  // names and groups, like a JID part

}  // namespace

std::variant<RosterSet, Rejection> parse_roster_set(const Element& query, const Jid& user) {
  const Element* item = nullptr;
  for (const Element& child : query.nodes()) {
    if (!child.is("item", query.ns())) continue;
    if (item) return Rejection{"bad-request", "A roster set carries exactly one item"};
    item = &child;
  }
  if (!item) return Rejection{"bad-request", "A roster set carries exactly one item"};

  auto contact = Jid::parse(item->attr_or("jid"));
  if (!contact) return Rejection{"bad-request", "The item's JID is not valid"};
  if (!contact->is_bare()) return Rejection{"bad-request", "Roster items are bare JIDs"};
  if (*contact == user) return Rejection{"not-allowed", "Your own JID cannot be a contact"};

  RosterSet set{*contact};
  // §2.1.2.5: "remove" is the only subscription value a client may set; others are ignored.
  set.remove = item->attr_or("subscription") == "remove";
  if (set.remove) return set;

  set.name = item->attr_or("name");
  if (set.name.size() > kMaxTextBytes) return Rejection{"not-acceptable", "The name is too long"};
  for (const Element& child : item->nodes()) {
    if (!child.is("group", query.ns())) continue;
    std::string group = child.text();
    if (group.empty()) return Rejection{"not-acceptable", "A group name is empty"};
    if (group.size() > kMaxTextBytes) return Rejection{"not-acceptable", "A group name is too long"};
    if (std::find(set.groups.begin(), set.groups.end(), group) != set.groups.end())
      return Rejection{"bad-request", "A group is listed twice"};
    set.groups.push_back(std::move(group));
  }
  return set;
}

}  // namespace xmppd::roster

#include "bookmarks_compat.hpp"

#include <xmppd/jid.hpp>

namespace pep {

using xmppd::Element;

NodeConfig bookmarks_node_config() {
  NodeConfig config;
  config.access = Access::whitelist;
  config.max_items = kMaxItems;
  config.send_last = "never";
  return config;
}

std::vector<Item> items_of_legacy(const Element& storage) {
  std::vector<Item> items;
  for (const Element& c : storage.nodes()) {
    if (!c.is("conference", kLegacyBookmarks)) continue;
    auto room = xmppd::Jid::parse(c.attr_or("jid"));
    if (!room || !room->is_bare()) continue;
    Element conference("conference", kBookmarks);
    if (const std::string* name = c.attr("name")) conference.set_attr("name", *name);
    std::string_view autojoin = c.attr_or("autojoin");
    conference.set_attr("autojoin", autojoin == "true" || autojoin == "1" ? "true" : "false");
    for (const char* field : {"nick", "password"})
      if (const Element* e = c.child(field, kLegacyBookmarks)) conference.add_child(field, kBookmarks).add_text(e->text());
    items.push_back({room->bare_str(), "", conference.str()});
  }
  return items;
}

Element legacy_of_items(const std::vector<Item>& items, const Element* previous) {
  Element storage("storage", kLegacyBookmarks);
  for (const Item& item : items) {
    auto conference = Element::parse(item.payload, "");
    if (!conference || !conference->is("conference", kBookmarks)) continue;
    Element& c = storage.add_child("conference", kLegacyBookmarks);
    c.set_attr("jid", item.id);
    if (const std::string* name = conference->attr("name")) c.set_attr("name", *name);
    std::string_view autojoin = conference->attr_or("autojoin");
    c.set_attr("autojoin", autojoin == "true" || autojoin == "1" ? "true" : "false");
    for (const char* field : {"nick", "password"})
      if (const Element* e = conference->child(field, kBookmarks)) c.add_child(field, kLegacyBookmarks).add_text(e->text());
  }
  if (previous)
    for (const Element& u : previous->nodes())
      if (u.is("url", kLegacyBookmarks)) storage.add_child(u);
  return storage;
}

}  // namespace pep

// XEP-0402 §5.3: bookmarks kept in two forms, XEP-0402's (one PEP item per room) and
// XEP-0048's (one <storage/> in private XML storage), so that old and new clients of one
// account see the same rooms. These convert between them.
#pragma once

#include <vector>

#include <xmppd/element.hpp>

#include "pubsub_store.hpp"

namespace pep {

inline constexpr const char* kBookmarks = "urn:xmpp:bookmarks:1";
inline constexpr const char* kLegacyBookmarks = "storage:bookmarks";

// The node's configuration the XEP prescribes (§4): private, and every item kept.
NodeConfig bookmarks_node_config();
// XEP-0048 <storage/> → XEP-0402 items (id: the room's JID). Conferences without a valid
// JID are skipped.
std::vector<Item> items_of_legacy(const xmppd::Element& storage);
// XEP-0402 items → XEP-0048 <storage/>, keeping the <url/> bookmarks of `previous` (the
// stored one, if any), which XEP-0402 has no place for.
xmppd::Element legacy_of_items(const std::vector<Item>& items, const xmppd::Element* previous);

}  // namespace pep

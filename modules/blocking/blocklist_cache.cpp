#include "blocklist_cache.hpp"

#include <algorithm>

namespace xmppd::blocking {

bool item_matches(const Jid& item, const Jid& jid) {
  if (item.domain() != jid.domain()) return false;
  if (!item.node().empty()) {
    if (item.node() != jid.node()) return false;
    return item.resource().empty() || item.resource() == jid.resource();
  }
  // A domain item covers the domain and everything at it; domain/resource only itself.
  if (item.resource().empty()) return true;
  return jid.node().empty() && item.resource() == jid.resource();
}

bool BlocklistCache::session_bound(const Jid& full) {
  std::lock_guard lock(mutex_);
  Entry& entry = users_[full.bare_str()];
  bool first = entry.resources.empty();
  entry.resources.insert(full.resource());
  return first;
}

void BlocklistCache::session_closed(const Jid& full) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(full.bare_str());
  if (it == users_.end()) return;
  it->second.resources.erase(full.resource());
  it->second.requesters.erase(full.resource());
  if (it->second.resources.empty()) users_.erase(it);
}

void BlocklistCache::update(const Jid& bare, const std::vector<std::string>& jids, std::uint64_t version) {
  std::vector<Jid> items;
  for (const auto& text : jids)
    if (auto jid = Jid::parse(text)) items.push_back(std::move(*jid));
  std::lock_guard lock(mutex_);
  auto it = users_.find(bare.bare_str());
  if (it == users_.end() || it->second.version > version) return;
  it->second.items = std::move(items);
  it->second.version = version;
}

bool BlocklistCache::blocks(const Jid& owner, const Jid& other) const {
  std::lock_guard lock(mutex_);
  auto it = users_.find(owner.bare_str());
  if (it == users_.end()) return false;
  const auto& items = it->second.items;
  return std::any_of(items.begin(), items.end(), [&](const Jid& item) { return item_matches(item, other); });
}

void BlocklistCache::requested_blocklist(const Jid& full) {
  std::lock_guard lock(mutex_);
  auto it = users_.find(full.bare_str());
  if (it != users_.end()) it->second.requesters.insert(full.resource());
}

std::vector<Jid> BlocklistCache::push_targets(const Jid& bare) const {
  std::vector<Jid> out;
  std::lock_guard lock(mutex_);
  auto it = users_.find(bare.bare_str());
  if (it == users_.end()) return out;
  for (const auto& resource : it->second.requesters) out.push_back(bare.with_resource(resource));
  return out;
}

}  // namespace xmppd::blocking

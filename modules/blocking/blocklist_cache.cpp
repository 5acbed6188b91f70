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
  if (it->second.resources.empty() && it->second.items.empty()) users_.erase(it);
}

void BlocklistCache::update(const Jid& bare, const std::vector<std::string>& jids, std::uint64_t version) {
  std::vector<Jid> items;
  for (const auto& text : jids)
    if (auto jid = Jid::parse(text)) items.push_back(std::move(*jid));
  std::lock_guard lock(mutex_);
  Entry& entry = users_[bare.bare_str()];
  if (entry.version > version) return;
  entry.items = std::move(items);
  entry.version = version;
  if (entry.items.empty() && entry.resources.empty()) users_.erase(bare.bare_str());
}

void BlocklistCache::preload(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::lock_guard lock(mutex_);
  for (const auto& [owner, text] : rows)
    if (auto jid = Jid::parse(text)) users_[owner].items.push_back(std::move(*jid));
}

void BlocklistCache::forget(const Jid& bare) {
  std::lock_guard lock(mutex_);
  users_.erase(bare.bare_str());
}

bool BlocklistCache::blocks(const Jid& owner, const Jid& other) const {
  std::lock_guard lock(mutex_);
  auto it = users_.find(owner.bare_str());
  if (it == users_.end()) return false;
  const auto& items = it->second.items;
  return std::any_of(items.begin(), items.end(), [&](const Jid& item) { return item_matches(item, other); });
}

std::vector<std::string> BlocklistCache::jids(const Jid& bare) const {
  std::vector<std::string> out;
  std::lock_guard lock(mutex_);
  auto it = users_.find(bare.bare_str());
  if (it != users_.end())
    for (const Jid& item : it->second.items) out.push_back(item.str());
  return out;
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

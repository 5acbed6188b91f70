// Notifications of last items, kept once built: every contact that comes online is sent
// the same few items of each of its contacts, and parsing the stored payload again for
// each would be most of the cost of a login. Entries are checked against the stored
// payload, so a changed item is built anew; the whole cache is dropped past a size bound.
// Not thread-safe: used on the PEP module's strand.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <tuple>

#include <xmppd/element.hpp>

namespace pep {

class EventCache {
 public:
  explicit EventCache(std::size_t max_bytes = 4 << 20) : max_bytes_(max_bytes) {}

  // The cached event for this item if it was built from exactly `payload`, else `build()`.
  template <class Build>
  const xmppd::Element& get(const std::string& service, const std::string& node, const std::string& id,
                            const std::string& payload, Build build) {
    auto key = std::tie(service, node, id);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.payload == payload) return it->second.event;
    if (bytes_ + payload.size() > max_bytes_) {
      entries_.clear();
      bytes_ = 0;
      it = entries_.end();
    }
    if (it != entries_.end()) {
      bytes_ -= it->second.payload.size();
      entries_.erase(it);
    }
    bytes_ += payload.size();
    auto [added, _] = entries_.emplace(Key{service, node, id}, Entry{payload, build()});
    return added->second.event;
  }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // service, node, item id
  struct Entry {
    std::string payload;
    xmppd::Element event;
  };
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::map<Key, Entry, std::less<>> entries_;
};

}  // namespace pep

// A room's discussion history (XEP-0045 §7.2.15): the last groupchat messages kept in
// memory, and which of them a joining occupant asked for (§7.2.16). Never stored on disk:
// a message costs no storage write.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string_view>
#include <vector>

#include <xmppd/element.hpp>

namespace muc {

using Clock = std::chrono::system_clock;

// The <history/> element of a join: each limit absent means "no limit of this kind".
struct HistoryRequest {
  std::optional<std::size_t> maxchars;
  std::optional<std::size_t> maxstanzas;
  std::optional<std::chrono::seconds> seconds;
  std::optional<Clock::time_point> since;

  // Reads <history/> (nullptr: no limits asked). Malformed attributes are ignored.
  static HistoryRequest parse(const xmppd::Element* history);
};

class History {
 public:
  struct Entry {
    xmppd::Element message;  // as broadcast: 'from' is the sender's occupant JID, no 'to'
    Clock::time_point when;
  };

  explicit History(std::size_t max_stanzas) : max_stanzas_(max_stanzas) {}

  void add(xmppd::Element message, Clock::time_point when);
  void clear() { entries_.clear(); }
  // Forgets the messages `pred` picks (a retracted one).
  template <class Pred>
  void remove_if(Pred pred) {
    std::erase_if(entries_, [&pred](const Entry& e) { return pred(e.message); });
  }
  std::size_t size() const { return entries_.size(); }

  // The newest entries that fit every limit of the request, oldest first. maxchars counts
  // the serialized stanzas (an approximation of what the client receives).
  std::vector<const Entry*> select(const HistoryRequest& request, Clock::time_point now) const;

 private:
  std::size_t max_stanzas_;
  std::deque<Entry> entries_;
};

}  // namespace muc

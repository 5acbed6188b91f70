// XEP-0352 client state indication: what the server holds back while a client says it is
// inactive. Presence updates (only the latest of each contact counts) and messages with
// nothing for a person to read (chat states, receipts, markers) can wait; anything else
// is important and sends the held stanzas, in order, before itself.
#pragma once

#include <string>
#include <vector>

#include <xmppd/element.hpp>

namespace xmppd::stream {

class CsiBuffer {
 public:
  static bool can_wait(const Element& stanza);

  // Holds a stanza that can wait; a presence replaces the one held from the same sender.
  void hold(std::string bytes, const Element& stanza);
  std::size_t size() const { return held_.size(); }
  bool empty() const { return held_.empty(); }
  // Everything held, in the order it arrived (a replaced presence at its newest place).
  std::vector<std::string> take();

 private:
  struct Held {
    std::string presence_from;  // empty for a message
    std::string bytes;
  };
  std::vector<Held> held_;
};

}  // namespace xmppd::stream

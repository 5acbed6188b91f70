// Handlers for one kind of event, run in priority order until one handles the event.
#pragma once

#include <algorithm>
#include <functional>
#include <vector>

#include <xmppd/module.hpp>

namespace xmppd::module {

template <class Event>
class HookList {
 public:
  using Handler = std::function<HookResult(Event&)>;

  // Higher priority first; equal priorities keep registration order.
  void add(int priority, Handler handler) {
    auto at = std::find_if(hooks_.begin(), hooks_.end(), [&](const Entry& e) { return e.priority < priority; });
    hooks_.insert(at, Entry{priority, std::move(handler)});
  }

  HookResult run(Event& event) const {
    for (const Entry& e : hooks_)
      if (e.handler(event) == HookResult::handled) return HookResult::handled;
    return HookResult::pass;
  }

 private:
  struct Entry {
    int priority;
    Handler handler;
  };
  std::vector<Entry> hooks_;
};

}  // namespace xmppd::module

// Holds a session's output back while storage writes its earlier stanzas caused are still
// pending, so that whatever the client reads afterwards (an IQ result, an SM <a/>) means
// those writes are durable: a client reads a later reply as "everything before it was
// handled". Output queued while a hold is open waits, in order, until every hold that
// was open at the time has closed. Used on the session's thread only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace xmppd::stream {

class OutputFence {
 public:
  // Nothing held and nothing waiting: output may go straight out.
  bool open() const { return holds_.empty() && waiting_.empty(); }
  std::size_t waiting_bytes() const { return waiting_bytes_; }

  std::uint64_t hold() {
    holds_.insert(next_);
    return next_++;
  }
  // Where output goes now: `out` when nothing holds it back, else the waiting tail.
  std::string& sink(std::string& out) {
    if (open()) return out;
    if (waiting_.empty() || waiting_.back().after != next_) waiting_.push_back({next_, {}});
    return waiting_.back().bytes;
  }
  // Call after appending to the sink (keeps the byte count for the write-queue limit).
  void appended(std::size_t bytes, bool to_out) {
    if (!to_out) waiting_bytes_ += bytes;
  }
  // Closes a hold; appends to `out` whatever may go now. Returns whether it appended.
  bool release(std::uint64_t id, std::string& out) {
    holds_.erase(id);
    bool moved = false;
    while (!waiting_.empty() && (holds_.empty() || *holds_.begin() >= waiting_.front().after)) {
      out += waiting_.front().bytes;
      waiting_bytes_ -= waiting_.front().bytes.size();
      waiting_.erase(waiting_.begin());
      moved = true;
    }
    return moved;
  }
  // The stream ends: everything waiting goes out now (holds still open stay, ignored).
  void release_all(std::string& out) {
    for (auto& w : waiting_) out += w.bytes;
    waiting_.clear();
    waiting_bytes_ = 0;
  }

 private:
  struct Waiting {
    std::uint64_t after;  // may go once no hold with a smaller id is open
    std::string bytes;
  };
  std::uint64_t next_ = 1;
  std::set<std::uint64_t> holds_;
  std::vector<Waiting> waiting_;
  std::size_t waiting_bytes_ = 0;
};

}  // namespace xmppd::stream

// Writes to the archive in group commits: what hooks hand over on the network threads is
// queued, and a drain on the storage thread writes everything queued since the previous
// one in one transaction. Retractions go through the same queue, so they always find the
// message they name if it was archived before them.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include <xmppd/element.hpp>
#include <xmppd/module.hpp>

#include "archive_store.hpp"

namespace archive {

// Archive ids: microseconds since the epoch, strictly increasing across the process (every
// archive of every host), so that one number is the stanza-id, the order and the time.
class IdClock {
 public:
  static std::int64_t next();
  // After a restart, never below what is stored (the clock may have gone back).
  static void start_after(std::int64_t stored_max);
};

struct Retraction {
  std::string archive;
  std::string sender;      // whose message it must be; empty: anyone's (moderation)
  std::string message_id;  // origin-id / 'id', or the stanza-id when by_stanza_id
  bool by_stanza_id = false;
  std::optional<xmppd::Element> detail;  // goes inside the tombstone's <retracted/>
  std::function<void(RetractOutcome)> done;  // on the module's executor; may be empty
};

// Reads that must see every write queued before them (a query right after a message).
struct Read {
  std::function<void(ArchiveStore&)> work;  // on the storage thread
  std::function<void()> done;               // then on the module's executor
};

class ArchiveWriter {
 public:
  ArchiveWriter(xmppd::ModuleContext& ctx, std::shared_ptr<ArchiveStore> store);

  void add(Entry entry);
  void retract(Retraction retraction);
  void read(Read read);
  void set_max_messages(std::int64_t n) { max_messages_.store(n); }

 private:
  using Job = std::variant<Entry, Retraction, Read>;
  void enqueue(Job job);
  boost::asio::awaitable<void> drain();
  // On the storage thread; returns what to call back on the executor.
  std::vector<std::function<void()>> write_queued();

  xmppd::ModuleContext& ctx_;
  std::shared_ptr<ArchiveStore> store_;  // used on the storage thread only
  std::atomic<std::int64_t> max_messages_{0};
  std::mutex mutex_;  // guards the two below
  std::vector<Job> queue_;
  bool drain_scheduled_ = false;
  std::vector<Job> spare_;  // the last batch's buffer, kept for its capacity (storage thread)
};

}  // namespace archive

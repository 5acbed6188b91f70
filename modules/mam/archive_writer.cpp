#include "archive_writer.hpp"

#include <chrono>

#include <xmppd/namespaces.hpp>

#include "archive_policy.hpp"
#include "common/log.hpp"
#include "storage/storage_thread.hpp"

namespace archive {
namespace {

std::atomic<std::int64_t> last_id{0};

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// At most this many jobs per transaction, so that none grows without bound.
constexpr std::size_t kMaxBatch = 2000;

}  // namespace

std::int64_t IdClock::next() {
  std::int64_t now = now_us();
  std::int64_t last = last_id.load(std::memory_order_relaxed);
  std::int64_t id;
  do {
    id = std::max(now, last + 1);
  } while (!last_id.compare_exchange_weak(last, id, std::memory_order_relaxed));
  return id;
}

void IdClock::start_after(std::int64_t stored_max) {
  std::int64_t last = last_id.load();
  while (last < stored_max && !last_id.compare_exchange_weak(last, stored_max)) {
  }
}

ArchiveWriter::ArchiveWriter(xmppd::ModuleContext& ctx, std::shared_ptr<ArchiveStore> store)
    : ctx_(ctx), store_(std::move(store)) {}

void ArchiveWriter::add(Entry entry) { enqueue(std::move(entry)); }
void ArchiveWriter::retract(Retraction retraction) { enqueue(std::move(retraction)); }
void ArchiveWriter::read(Read read) { enqueue(std::move(read)); }

void ArchiveWriter::enqueue(Job job) {
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    queue_.push_back(std::move(job));
    schedule = !drain_scheduled_;
    drain_scheduled_ = true;
  }
  if (schedule) ctx_.spawn(drain());
}

boost::asio::awaitable<void> ArchiveWriter::drain() {
  auto write = [this](xmppd::storage::Storage&) { return write_queued(); };
  std::vector<std::function<void()>> finished = co_await ctx_.storage().run(write);
  for (auto& done : finished) done();
}

std::vector<std::function<void()>> ArchiveWriter::write_queued() {
  // The buffers go round: the queue fills the one the previous batch emptied, so a busy
  // queue grows no vector job by job.
  std::vector<Job> jobs = std::move(spare_);
  jobs.clear();
  {
    std::lock_guard lock(mutex_);
    jobs.swap(queue_);
    drain_scheduled_ = false;  // what arrives from now on goes to the next drain
  }
  std::vector<std::function<void()>> finished;
  std::vector<Entry> entries;
  auto flush = [&] {
    if (entries.empty()) return;
    try {
      store_->add_all(entries, max_messages_.load());
    } catch (const std::exception& e) {
      xmppd::log::error("archive: cannot store ", entries.size(), " messages: ", e.what());
    }
    entries.clear();
  };
  for (Job& job : jobs) {
    if (auto* entry = std::get_if<Entry>(&job)) {
      entries.push_back(std::move(*entry));
      if (entries.size() == kMaxBatch) flush();
      continue;
    }
    flush();  // a retraction or read sees every message queued before it
    if (auto* read = std::get_if<Read>(&job)) {
      try {
        read->work(*store_);
      } catch (const std::exception& e) {
        xmppd::log::error("archive: cannot read: ", e.what());
      }
      if (read->done) finished.push_back(std::move(read->done));
      continue;
    }
    Retraction& r = std::get<Retraction>(job);
    RetractOutcome outcome = RetractOutcome::not_found;
    try {
      std::int64_t at = IdClock::next();
      const xmppd::Element* detail = r.detail ? &*r.detail : nullptr;
      outcome = store_->retract(r.archive, r.sender, r.message_id, r.by_stanza_id, [&](const std::string& stored) {
        auto original = xmppd::Element::parse(stored);
        // An unreadable stored copy still loses its content.
        return tombstone(original ? *original : xmppd::Element("message", xmppd::ns::kClient), at, detail)
            .str(xmppd::ns::kClient);
      });
    } catch (const std::exception& e) {
      xmppd::log::error("archive: cannot retract a message in ", r.archive, ": ", e.what());
    }
    if (r.done) finished.push_back([done = std::move(r.done), outcome] { done(outcome); });
  }
  flush();
  jobs.clear();
  spare_ = std::move(jobs);
  return finished;
}

}  // namespace archive

// archive_bench: the message archive store (modules/mam/archive_store) at scale.
//
// Fills one SQLite file with N archived messages, M of them in one account's archive
// (big@localhost) and the rest spread over A other accounts, then times the queries a
// client makes of the big archive: the newest page (RSM <before/> empty), a page in the
// middle (RSM <before>id</before>) and a full-text search, each through
// ArchiveStore::query as the server runs it. Prints p50/p99/max per query kind, the fill
// rate and the bytes on disk per message, then one RESULT line.
//
//   archive_bench --dir DIR [--messages N] [--big M] [--accounts A] [--queries Q]
//
// A filled DIR (same N, M and A, per its marker file) is reused: filling 5M messages took
// 16-19 minutes on 2 cores. Everything comes from fixed seeds: two fills are the same archive.

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "archive_store.hpp"
#include "storage/storage.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using xmppd::storage::Database;
using xmppd::storage::Statement;

constexpr const char* kBig = "big@localhost";
constexpr std::int64_t kEpoch = 1'700'000'000'000'000;  // ids: microseconds, 1000 apart
constexpr std::size_t kBatch = 2000;                    // entries per add_all, one transaction
constexpr std::size_t kVocabulary = 4000;

struct Options {
  std::string dir;
  std::int64_t messages = 10'000'000;
  std::int64_t big = 1'000'000;
  std::int64_t accounts = 10'000;
  int queries = 200;
};

// splitmix64: deterministic on every platform, unlike the std distributions.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
  }
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  double unit() { return double(next() >> 11) * 0x1.0p-53; }
};

// Generated words with Zipf frequencies (rank r has weight 1/(r+1)), the shortest words the
// most frequent, as in natural language: a few words are in most messages, most in few.
struct Vocabulary {
  std::vector<std::string> words;  // by rank
  std::vector<double> cumulative;

  Vocabulary() {
    Rng rng{42};
    std::set<std::string> seen;
    while (words.size() < kVocabulary) {
      std::string w(3 + rng.below(7), ' ');
      for (char& c : w) c = char('a' + rng.below(26));
      if (seen.insert(w).second) words.push_back(w);
    }
    std::stable_sort(words.begin(), words.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
    double sum = 0;
    for (std::size_t r = 0; r < words.size(); ++r) cumulative.push_back(sum += 1.0 / double(r + 1));
    for (double& c : cumulative) c /= sum;
  }
  const std::string& pick(Rng& rng) const {
    auto it = std::lower_bound(cumulative.begin(), cumulative.end(), rng.unit());
    return words[std::min<std::size_t>(std::size_t(it - cumulative.begin()), words.size() - 1)];
  }
};

std::string hex(Rng& rng, int digits) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < digits; ++i) out += kDigits[rng.below(16)];
  return out;
}

std::string user(std::int64_t k) { return "user" + std::to_string(k) + "@localhost"; }

// Whether message i is the big account's: its M messages are spread evenly over the N.
bool is_big(std::int64_t i, const Options& o) { return (i + 1) * o.big / o.messages > i * o.big / o.messages; }

archive::Entry make_entry(std::int64_t i, const Options& o, const Vocabulary& vocabulary, Rng& rng) {
  static const char* kResources[] = {"phone", "laptop", "desktop", "tablet"};
  bool big = is_big(i, o);
  std::int64_t owner_k = std::int64_t(rng.below(std::uint64_t(o.accounts)));
  std::string owner = big ? kBig : user(owner_k);
  std::int64_t contact_k = std::int64_t(rng.below(std::uint64_t(o.accounts - 1)));
  if (!big && contact_k >= owner_k) ++contact_k;  // not oneself
  std::string contact = user(contact_k);
  std::string resource = kResources[rng.below(4)];
  bool outgoing = rng.below(2) == 0;

  std::string body;
  for (std::uint64_t w = 0, n = 5 + rng.below(16); w < n; ++w) (body += w ? " " : "") += vocabulary.pick(rng);
  std::string origin_id = hex(rng, 8) + '-' + hex(rng, 4) + '-' + hex(rng, 4) + '-' + hex(rng, 4) + '-' + hex(rng, 12);
  std::string from = (outgoing ? owner : contact) + '/' + resource, to = outgoing ? contact : owner;

  archive::Entry e;
  e.archive = owner;
  e.id = kEpoch + i * 1000;
  e.with_bare = contact;
  e.with_resource = outgoing ? "" : resource;  // as mam.cpp: the peer's full JID when it sent
  e.sender = outgoing ? owner : contact;
  e.message_id = origin_id;
  e.stanza = "<message xmlns='jabber:client' from='" + from + "' to='" + to + "' type='chat' id='" + hex(rng, 12) +
             "'><body>" + body + "</body><origin-id xmlns='urn:xmpp:sid:0' id='" + origin_id + "'/></message>";
  e.text = body;
  return e;
}

void create_accounts(Database& db, const Options& o) {
  Database::Transaction tx(db);
  Statement insert(db, "INSERT INTO accounts(domain, username, created_at) VALUES('localhost', ?1, 0)");
  insert.bind(1, std::string_view("big")).exec();
  insert.reset();
  for (std::int64_t k = 0; k < o.accounts; ++k) {
    insert.bind(1, "user" + std::to_string(k)).exec();
    insert.reset();
  }
  tx.commit();
}

// Bytes this process has passed to write(2) so far (Linux): the WAL, checkpoints, everything.
std::uint64_t bytes_written() {
  std::ifstream io("/proc/self/io");
  std::string key;
  std::uint64_t value = 0;
  while (io >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

double fill(archive::ArchiveStore& store, const Options& o) {
  Vocabulary vocabulary;
  Rng rng{7};
  std::vector<archive::Entry> batch;
  auto start = Clock::now();
  std::uint64_t bytes = 0, written = bytes_written();
  for (std::int64_t i = 0; i < o.messages; ++i) {
    batch.push_back(make_entry(i, o, vocabulary, rng));
    bytes += batch.back().stanza.size();
    if (batch.size() == kBatch || i + 1 == o.messages) {
      store.add_all(batch, 0);
      batch.clear();
    }
    if ((i + 1) % 1'000'000 == 0) {
      double s = std::chrono::duration<double>(Clock::now() - start).count();
      std::cerr << "filled " << i + 1 << " in " << std::int64_t(s) << " s (" << std::int64_t(double(i + 1) / s) << " msgs/s)\n";
    }
  }
  double rate = double(o.messages) / std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("fill: %.0f bytes written per message (stanzas %.0f bytes on average)\n",
              double(bytes_written() - written) / double(o.messages), double(bytes) / double(o.messages));
  return rate;
}

struct Figures {
  double p50, p99, max;
};

Figures percentiles(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  auto rank = [&](double p) { return ms[std::size_t(std::ceil(p * double(ms.size()))) - 1]; };  // nearest rank
  return {rank(0.50), rank(0.99), ms.back()};
}

// Times `make(k)` for k = 0..n-1, after a few untimed runs. A slow kind stops after a minute
// (with at least 10 queries): its p99 is then nearly its max, and the figure to fix anyway.
template <class MakeQuery>
Figures measure(archive::ArchiveStore& store, const char* what, int n, MakeQuery make) {
  for (int k = 0; k < 3; ++k) store.query(make(k));  // warm-up
  std::vector<double> ms;
  std::size_t items = 0;
  const auto give_up = Clock::now() + std::chrono::seconds(60);
  for (int k = 0; k < n && (k < 10 || Clock::now() < give_up); ++k) {
    archive::Query q = make(k);
    auto start = Clock::now();
    archive::Page page = store.query(q);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    items += page.items.size();
  }
  Figures f = percentiles(ms);
  std::printf("%s (%zu queries, %.1f messages a page): p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", what, ms.size(),
              double(items) / double(ms.size()), f.p50, f.p99, f.max);
  std::fflush(stdout);
  return f;
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 == argc) a = "--help";
    if (a == "--dir") o.dir = argv[++i];
    else if (a == "--messages") o.messages = std::atoll(argv[++i]);
    else if (a == "--big") o.big = std::atoll(argv[++i]);
    else if (a == "--accounts") o.accounts = std::atoll(argv[++i]);
    else if (a == "--queries") o.queries = std::atoi(argv[++i]);
    else o.dir.clear(), i = argc;
  }
  if (o.dir.empty() || o.big <= 0 || o.big >= o.messages || o.accounts < 2 || o.queries <= 0) {
    std::cerr << "usage: archive_bench --dir DIR [--messages N] [--big M] [--accounts A] [--queries Q]\n";
    std::exit(2);
  }
  return o;
}

int run(const Options& o) {
  fs::create_directories(o.dir);
  const std::string db_path = o.dir + "/archive.db", marker = o.dir + "/filled";
  const std::string sizes = std::to_string(o.messages) + ' ' + std::to_string(o.big) + ' ' + std::to_string(o.accounts);

  // The marker holds the sizes and the fill rate; a missing or different one means refill.
  double fill_per_s = 0;
  {
    std::ifstream in(marker);
    std::string n, m, a;
    if (in >> n >> m >> a >> fill_per_s && n + ' ' + m + ' ' + a == sizes) {
      std::printf("reusing the archive in %s (fill rate measured then)\n", o.dir.c_str());
    } else {
      fill_per_s = 0;
      for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db_path + suffix);
      fs::remove(marker);
    }
  }

  auto storage = xmppd::storage::open_sqlite(db_path);
  Database& db = storage->database();
  archive::ArchiveStore store(db);
  if (fill_per_s == 0) {
    create_accounts(db, o);
    fill_per_s = fill(store, o);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    std::ofstream(marker) << sizes << ' ' << fill_per_s << '\n';
  }
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");  // so the size below is the data, not a WAL backlog
  std::uintmax_t disk = fs::file_size(db_path) + (fs::exists(db_path + "-wal") ? fs::file_size(db_path + "-wal") : 0);
  double bytes_per_message = double(disk) / double(o.messages);
  std::printf("fill: %.0f msgs/s (%lld messages, %zu per transaction, synchronous=FULL)\n", fill_per_s,
              static_cast<long long>(o.messages), kBatch);
  std::printf("disk: %.1f bytes per message (%.1f MB incl. WAL after a checkpoint)\n", bytes_per_message,
              double(disk) / 1e6);

  // The big archive's ids, to page from: known from the fill (is_big), checked through the
  // store only, so that the bench does not depend on the schema.
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < o.messages; ++i)
    if (is_big(i, o)) ids.push_back(kEpoch + i * 1000);
  if (std::int64_t(ids.size()) != o.big || !store.contains(kBig, ids.front()) || !store.contains(kBig, ids.back())) {
    std::cerr << kBig << " does not hold the messages of the fill\n";
    return 1;
  }

  // Warm measurements: the file is read once into the OS page cache, and each measure()
  // starts with untimed queries; a cold cache (after a reboot) is slower. (Some VMs give
  // the page cache back to the host within minutes: `fincore` shows what is still cached.)
  {
    std::ifstream in(db_path, std::ios::binary);
    std::vector<char> chunk(1 << 20);
    while (in.read(chunk.data(), std::streamsize(chunk.size()))) {
    }
  }
  Vocabulary vocabulary;
  Rng rng{99};
  auto base = [&] {
    archive::Query q;
    q.archive = kBig;
    q.newest_first = true;
    q.max = 50;
    return q;
  };
  Figures newest = measure(store, "newest page", o.queries, [&](int) { return base(); });
  Figures middle = measure(store, "page before a random id", o.queries, [&](int) {
    archive::Query q = base();
    q.page_before = ids[50 + rng.below(ids.size() - 50)];  // an id with a full page before it
    return q;
  });
  // A search term: a word of random rank, so mostly the rarer words people search for. The
  // ten most frequent words (each in a large part of all messages) are timed apart.
  Figures text = measure(store, "full-text, word of random rank", o.queries, [&](int) {
    archive::Query q = base();
    q.fulltext = '"' + vocabulary.words[rng.below(kVocabulary)] + '"';
    return q;
  });
  measure(store, "full-text, one of the 10 most frequent words", std::max(5, o.queries / 10), [&](int k) {
    archive::Query q = base();
    q.fulltext = '"' + vocabulary.words[std::size_t(k) % 10] + '"';
    return q;
  });

  std::printf("RESULT newest_p99_ms=%.3f middle_p99_ms=%.3f fulltext_p99_ms=%.3f bytes_per_message=%.1f fill_per_s=%.0f\n",
              newest.p99, middle.p99, text.p99, bytes_per_message, fill_per_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  try {
    return run(o);
  } catch (const xmppd::storage::StorageError& e) {
    // E.g. a database filled by an older schema: delete DIR to fill it again.
    std::cerr << "archive_bench: " << e.what() << "\n";
    return 1;
  }
}

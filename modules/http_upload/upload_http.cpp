#include "upload_http.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <strings.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <vector>

#include "common/log.hpp"
#include "upload_url.hpp"

namespace asio = boost::asio;

namespace http_upload {
namespace {

constexpr std::size_t kChunk = 64 * 1024;

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// RFC 9110 §5.6.7 IMF-fixdate.
std::string http_date(std::int64_t unix_time) {
  std::time_t t = static_cast<std::time_t>(unix_time);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

template <class Int>
bool parse_number(std::string_view text, Int& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size();
}

// A single byte range (RFC 9110 §14.1.2), inclusive.
struct ByteRange {
  std::uint64_t first = 0, last = 0;
};
enum class RangeRequest { whole, partial, unsatisfiable };

// Several ranges, or a header this parser does not understand, get the whole file (a server
// may ignore Range).
RangeRequest parse_range(std::string_view header, std::uint64_t size, ByteRange& out) {
  if (!header.starts_with("bytes=")) return RangeRequest::whole;
  std::string_view spec = header.substr(6);
  auto dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return RangeRequest::whole;
  std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
  std::uint64_t a = 0, b = 0;
  if (first.empty()) {  // "-N": the last N bytes
    if (!parse_number(last, b)) return RangeRequest::whole;
    if (b == 0 || size == 0) return RangeRequest::unsatisfiable;
    out = {size - std::min(b, size), size - 1};
    return RangeRequest::partial;
  }
  if (!parse_number(first, a)) return RangeRequest::whole;
  if (last.empty()) {
    b = size == 0 ? 0 : size - 1;
  } else if (!parse_number(last, b) || b < a) {
    return RangeRequest::whole;
  }
  if (a >= size) return RangeRequest::unsatisfiable;
  out = {a, std::min(b, size - 1)};
  return RangeRequest::partial;
}

struct FileDescriptor {
  int fd;
  explicit FileDescriptor(int f) : fd(f) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

// A short text answer, with one more header if given. (Only trivially destructible
// arguments: GCC 12 destroys temporaries of a co_await twice.)
asio::awaitable<void> answer(xmppd::HttpExchange& exchange, unsigned status, std::string_view text,
                             std::string_view extra_name = {}, std::string_view extra_value = {}) {
  xmppd::HttpHeaders headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  if (!extra_name.empty()) headers.emplace_back(extra_name, extra_value);
  std::string body = std::string(text) + '\n';
  co_await exchange.respond(status, headers, body);
}

// Runs `work` on the disk thread and returns what it returned, back on the caller's thread.
// (A named function object, not a temporary: GCC 12 destroys temporaries of a co_await twice.)
template <class Work>
asio::awaitable<std::invoke_result_t<Work&>> on_disk(asio::io_context& disk, Work& work) {
  auto run = [&work]() -> asio::awaitable<std::invoke_result_t<Work&>> { co_return work(); };
  co_return co_await asio::co_spawn(disk, run, asio::use_awaitable);
}

}  // namespace

UploadHttp::UploadHttp(FileStore& store, const UploadSigner& signer, std::string path_prefix)
    : store_(store), signer_(signer), prefix_(std::move(path_prefix)) {
  disk_.emplace(1);
}

UploadHttp::~UploadHttp() { stop(); }

void UploadHttp::every(std::chrono::seconds period, std::function<void()> task) {
  auto loop = [this, period, task = std::move(task)]() -> asio::awaitable<void> {
    asio::steady_timer timer(*disk_);
    for (;;) {
      timer.expires_after(period);
      co_await timer.async_wait(asio::use_awaitable);
      try {
        task();
      } catch (const std::exception& e) {
        xmppd::log::error("http_upload: ", e.what());
      }
    }
  };
  asio::co_spawn(*disk_, std::move(loop), asio::detached);
}

void UploadHttp::start() {
  auto work = asio::make_work_guard(*disk_);
  thread_ = std::thread([this, work] { disk_->run(); });
}

void UploadHttp::stop() {
  if (!disk_) return;
  disk_->stop();
  if (thread_.joinable()) thread_.join();
  disk_.reset();  // the sweep's coroutine, and any upload waiting for the disk, end here
}

asio::awaitable<void> UploadHttp::serve(xmppd::HttpExchange& exchange) {
  std::string_view method = exchange.method();
  if (method == "PUT") co_return co_await put(exchange);
  if (method == "GET" || method == "HEAD") co_return co_await get(exchange);
  co_await answer(exchange, 405, "Method not allowed", "Allow", "GET, HEAD, PUT, OPTIONS");
}

// PUT <prefix>/<id>/<name>?size=&type=&owner=&expires=&token=
asio::awaitable<void> UploadHttp::put(xmppd::HttpExchange& exchange) {
  auto target = parse_target(exchange.target(), prefix_);
  if (!target) co_return co_await answer(exchange, 400, "Not an upload URL");
  UploadGrant grant{target->id, target->filename};
  auto field = [&](std::string_view key) -> const std::string* {
    auto it = target->query.find(key);
    return it == target->query.end() ? nullptr : &it->second;
  };
  const std::string *size = field("size"), *type = field("type"), *owner = field("owner"),
                    *expires = field("expires"), *token = field("token");
  if (!size || !type || !owner || !expires || !token || !parse_number(*size, grant.size) ||
      !parse_number(*expires, grant.expires))
    co_return co_await answer(exchange, 403, "No valid upload token");
  grant.content_type = *type;
  grant.owner = *owner;
  // Newlines separate the signed fields: none may contain one.
  if (type->find('\n') != std::string::npos || owner->find('\n') != std::string::npos)
    co_return co_await answer(exchange, 403, "Invalid upload token");
  if (!signer_.verify(grant, *token)) co_return co_await answer(exchange, 403, "Invalid upload token");
  if (grant.expires < unix_now()) co_return co_await answer(exchange, 403, "Upload slot expired");
  auto length = exchange.content_length();
  if (!length) co_return co_await answer(exchange, 411, "Content-Length required");
  if (*length > grant.size) co_return co_await answer(exchange, 413, "Larger than the slot's size");
  if (*length < grant.size) co_return co_await answer(exchange, 400, "Smaller than the slot's size");

  // The pending upload lives and dies on the disk thread: leaving this function any other way
  // than through commit() (a read error, a disconnect, shutdown) removes it and its .part file.
  auto begin = [&] { return store_.begin(grant.id, StoredFile{grant.owner, grant.filename, grant.content_type, grant.size}); };
  FileStore::Begun begun = co_await on_disk(*disk_, begin);
  struct DiscardOnDisk {
    asio::io_context& disk;
    std::unique_ptr<PendingUpload>& upload;
    ~DiscardOnDisk() {
      if (upload) asio::post(disk, [doomed = std::move(upload)] {});
    }
  } discard{*disk_, begun.upload};
  switch (begun.refusal) {
    case FileStore::Refusal::none: break;
    case FileStore::Refusal::exists: co_return co_await answer(exchange, 409, "Already uploaded");
    case FileStore::Refusal::over_quota: co_return co_await answer(exchange, 413, "Upload quota exceeded");
    case FileStore::Refusal::io_error: co_return co_await answer(exchange, 500, "Cannot store the file");
  }
  for (;;) {
    std::string_view piece;
    std::string broken;  // why the body stopped coming (no co_await inside a catch)
    try {
      piece = co_await exchange.read_body(kChunk);
    } catch (const std::exception& e) {
      broken = e.what();
    }
    if (!broken.empty()) {
      auto discard = [&] { return begun.upload.reset(), true; };
      co_await on_disk(*disk_, discard);  // gone from disk and quota before anyone reads the log
      xmppd::log::info("http_upload: upload of ", grant.id, " by ", grant.owner, " interrupted: ", broken);
      exchange.close_after();
      co_return;
    }
    if (piece.empty()) break;
    auto write = [&] { return begun.upload->write(piece.data(), piece.size()); };
    if (!co_await on_disk(*disk_, write)) co_return co_await answer(exchange, 500, "Cannot store the file");
  }
  auto commit = [&] { return begun.upload->commit(); };
  if (!co_await on_disk(*disk_, commit)) co_return co_await answer(exchange, 500, "Cannot store the file");
  xmppd::log::info("http_upload: stored ", grant.id, " (", grant.size, " bytes) for ", grant.owner);
  co_await answer(exchange, 201, "Stored");
}

// GET/HEAD <prefix>/<id>/<name>, with Range, If-Range and If-None-Match.
asio::awaitable<void> UploadHttp::get(xmppd::HttpExchange& exchange) {
  auto target = parse_target(exchange.target(), prefix_);
  std::optional<StoredFile> file;
  if (target) file = store_.find(target->id);  // the index is in memory
  if (!file || file->filename != target->filename) co_return co_await answer(exchange, 404, "Not found");
  std::string data_path = store_.data_path(target->id).string();
  auto open = [&] { return std::make_shared<FileDescriptor>(::open(data_path.c_str(), O_RDONLY | O_CLOEXEC)); };
  std::shared_ptr<FileDescriptor> fd = co_await on_disk(*disk_, open);
  if (fd->fd < 0) co_return co_await answer(exchange, 404, "Not found");

  // A slot's content never changes: its id is a strong validator, and caches may keep it.
  std::string etag = '"' + target->id + '"';
  xmppd::HttpHeaders headers = {{"ETag", etag},
                                {"Last-Modified", http_date(file->stored_at)},
                                {"Cache-Control", "public, max-age=31536000, immutable"},
                                {"Accept-Ranges", "bytes"},
                                {"Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag"}};
  if (auto match = exchange.header("If-None-Match"); match == etag || match == "*")
    co_return co_await exchange.respond(304, headers, {});

  ByteRange range{0, file->size == 0 ? 0 : file->size - 1};
  RangeRequest kind = RangeRequest::whole;
  if (auto header = exchange.header("Range"); !header.empty()) {
    auto if_range = exchange.header("If-Range");
    if (if_range.empty() || if_range == etag) kind = parse_range(header, file->size, range);
  }
  if (kind == RangeRequest::unsatisfiable) {
    std::string all = "bytes */" + std::to_string(file->size);
    co_return co_await answer(exchange, 416, "Range not satisfiable", "Content-Range", all);
  }
  std::uint64_t offset = kind == RangeRequest::partial ? range.first : 0;
  std::uint64_t length = kind == RangeRequest::partial ? range.last - range.first + 1 : file->size;

  headers.emplace_back("Content-Type", file->content_type);
  // The type is the uploader's word: never let a browser run it as this origin's page.
  headers.emplace_back("X-Content-Type-Options", "nosniff");
  headers.emplace_back("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  if (kind == RangeRequest::partial)
    headers.emplace_back("Content-Range", "bytes " + std::to_string(range.first) + '-' + std::to_string(range.last) +
                                              '/' + std::to_string(file->size));
  headers.emplace_back("Content-Length", std::to_string(length));
  co_await exchange.respond_head(kind == RangeRequest::partial ? 206 : 200, headers);
  if (exchange.method() == "HEAD") co_return;

  std::vector<char> chunk(kChunk);
  for (std::uint64_t remaining = length; remaining > 0;) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), remaining));
    auto read = [&] { return ::pread(fd->fd, chunk.data(), want, static_cast<off_t>(offset)); };
    ssize_t n = co_await on_disk(*disk_, read);
    if (n <= 0) {
      xmppd::log::warn("http_upload: cannot read ", target->id, " at ", offset);
      exchange.close_after();  // the status line is gone: closing is all that is left
      co_return;
    }
    offset += static_cast<std::uint64_t>(n);
    remaining -= static_cast<std::uint64_t>(n);
    co_await exchange.respond_body(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
  }
}

}  // namespace http_upload

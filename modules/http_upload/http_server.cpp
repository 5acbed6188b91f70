#include "http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <ctime>
#include <vector>

#include "common/log.hpp"
#include "erased_stream.hpp"
#include "upload_url.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace http_upload {

namespace {

using Stream = beast::ssl_stream<beast::tcp_stream>;
using Parser = http::request_parser<http::buffer_body>;
using Request = http::request<http::buffer_body>;

constexpr std::size_t kChunk = 64 * 1024;
// Each read or write must make progress within this time, or the connection is closed.
constexpr auto kIdleTimeout = std::chrono::seconds(30);
// The body of a refused PUT is read and dropped up to this size, so that the client sees the
// answer instead of a reset connection; a larger one ends the connection after the answer.
constexpr std::uint64_t kDrainLimit = 1024 * 1024;
constexpr auto kAsTuple = asio::as_tuple(asio::use_awaitable);

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

template <class Message>
void common_headers(Message& m) {
  m.set(http::field::server, "xmppd");
  // XEP-0363 §8: web clients upload and download from another origin.
  m.set(http::field::access_control_allow_origin, "*");
}

}  // namespace

// One client connection: requests one after another (keep-alive), until an error, the
// client's close, or an answer after which the connection cannot be reused.
class HttpServer::Connection {
 public:
  Connection(HttpServer& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket), server.tls_()), http_(stream_) {
    ++server_.open_;
  }
  ~Connection() { --server_.open_; }

  asio::awaitable<void> run() {
    try {
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      co_await stream_.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
      for (bool keep_alive = true; keep_alive;) {
        Parser parser;
        parser.header_limit(16 * 1024);
        // Bodies are bounded by the handlers (a PUT by its slot's size), not by a default
        // that Beast would check against Content-Length while reading the header.
        parser.body_limit(boost::none);
        beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
        auto [ec, n] = co_await http::async_read_header(http_, buffer_, parser, kAsTuple);
        if (ec == http::error::end_of_stream || ec == asio::ssl::error::stream_truncated) co_return;
        if (ec) throw beast::system_error(ec);
        keep_alive = co_await handle(parser);
      }
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      co_await stream_.async_shutdown(kAsTuple);
    } catch (const std::exception& e) {
      xmppd::log::debug("http_upload: connection ended: ", e.what());
    }
  }

 private:
  asio::awaitable<bool> handle(Parser& parser) {
    Request& req = parser.get();
    if (req.method() == http::verb::put) co_return co_await put(parser);
    // Other requests carry no body worth reading: drop a small one, or close afterwards.
    if (!parser.is_done()) {
      bool drained = co_await drain(parser);
      if (!drained) req.keep_alive(false);
    }
    switch (req.method()) {
      case http::verb::get:
      case http::verb::head:
        co_return co_await get(parser);
      case http::verb::options:
        co_return co_await preflight(parser);
      default:
        co_return co_await answer(parser, http::status::method_not_allowed, "Method not allowed");
    }
  }

  // A short text answer. The connection stays open only if the request's body (if any) has
  // been read, or can be read and dropped cheaply.
  asio::awaitable<bool> answer(Parser& parser, http::status status, std::string_view text,
                               http::field extra = http::field::unknown, std::string_view extra_value = {}) {
    Request& req = parser.get();
    bool body_read = parser.is_done();
    if (!body_read) body_read = co_await drain(parser);
    bool reusable = req.keep_alive() && body_read;
    http::response<http::string_body> res{status, req.version()};
    common_headers(res);
    if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD, PUT, OPTIONS");
    if (extra != http::field::unknown) res.set(extra, extra_value);
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.body() = std::string(text) + '\n';
    res.keep_alive(reusable);
    res.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    co_await http::async_write(http_, res, asio::use_awaitable);
    co_return reusable;
  }

  // Reads and drops a small unread body; false if it is too large, chunked, or awaited with
  // "Expect: 100-continue" (then the client sends nothing more).
  asio::awaitable<bool> drain(Parser& parser) {
    Request& req = parser.get();
    auto length = parser.content_length();
    if (!length || *length > kDrainLimit || beast::iequals(req[http::field::expect], "100-continue"))
      co_return false;
    parser.body_limit(kDrainLimit);
    std::vector<char> scratch(kChunk);
    while (!parser.is_done()) {
      req.body().data = scratch.data();
      req.body().size = scratch.size();
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      auto [ec, n] = co_await http::async_read(http_, buffer_, parser, kAsTuple);
      if (ec && ec != http::error::need_buffer) co_return false;
    }
    co_return true;
  }

  asio::awaitable<bool> preflight(Parser& parser) {
    Request& req = parser.get();
    bool reusable = req.keep_alive() && parser.is_done();  // handle() read any body
    http::response<http::empty_body> res{http::status::no_content, req.version()};
    common_headers(res);
    res.set(http::field::access_control_allow_methods, "GET, HEAD, PUT, OPTIONS");
    res.set(http::field::access_control_allow_headers, "Authorization, Content-Type, Range");
    res.set(http::field::access_control_max_age, "86400");
    res.keep_alive(reusable);
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    co_await http::async_write(http_, res, asio::use_awaitable);
    co_return reusable;
  }

  // PUT <prefix>/<id>/<name>?size=&type=&owner=&expires=&token=
  asio::awaitable<bool> put(Parser& parser) {
    Request& req = parser.get();
    auto target = parse_target(req.target(), server_.prefix_);
    if (!target) co_return co_await answer(parser, http::status::bad_request, "Not an upload URL");
    UploadGrant grant{target->id, target->filename};
    auto field = [&](std::string_view key) -> const std::string* {
      auto it = target->query.find(key);
      return it == target->query.end() ? nullptr : &it->second;
    };
    const std::string *size = field("size"), *type = field("type"), *owner = field("owner"),
                      *expires = field("expires"), *token = field("token");
    if (!size || !type || !owner || !expires || !token || !parse_number(*size, grant.size) ||
        !parse_number(*expires, grant.expires))
      co_return co_await answer(parser, http::status::forbidden, "No valid upload token");
    grant.content_type = *type;
    grant.owner = *owner;
    // Newlines separate the signed fields: none may contain one.
    if (type->find('\n') != std::string::npos || owner->find('\n') != std::string::npos)
      co_return co_await answer(parser, http::status::forbidden, "Invalid upload token");
    if (!server_.signer_.verify(grant, *token))
      co_return co_await answer(parser, http::status::forbidden, "Invalid upload token");
    if (grant.expires < unix_now())
      co_return co_await answer(parser, http::status::forbidden, "Upload slot expired");
    auto length = parser.content_length();
    if (!length) co_return co_await answer(parser, http::status::length_required, "Content-Length required");
    if (*length > grant.size)
      co_return co_await answer(parser, http::status::payload_too_large, "Larger than the slot's size");
    if (*length < grant.size)
      co_return co_await answer(parser, http::status::bad_request, "Smaller than the slot's size");

    StoredFile described{grant.owner, grant.filename, grant.content_type, grant.size};
    auto begun = server_.store_.begin(grant.id, std::move(described));
    switch (begun.refusal) {
      case FileStore::Refusal::none: break;
      case FileStore::Refusal::exists:
        co_return co_await answer(parser, http::status::conflict, "Already uploaded");
      case FileStore::Refusal::over_quota:
        co_return co_await answer(parser, http::status::payload_too_large, "Upload quota exceeded");
      case FileStore::Refusal::io_error:
        co_return co_await answer(parser, http::status::internal_server_error, "Cannot store the file");
    }
    if (beast::iequals(req[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, req.version()};
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      co_await http::async_write(http_, go_on, asio::use_awaitable);
    }
    // Body to disk piece by piece. Leaving this function any other way than through
    // commit() (a read error, a disconnect, shutdown) destroys the upload and its .part file.
    parser.body_limit(grant.size);
    std::vector<char> chunk(kChunk);
    while (!parser.is_done()) {
      req.body().data = chunk.data();
      req.body().size = chunk.size();
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      auto [ec, n] = co_await http::async_read(http_, buffer_, parser, kAsTuple);
      if (ec && ec != http::error::need_buffer) {
        begun.upload.reset();  // gone from disk and quota before anyone reads the log line
        xmppd::log::info("http_upload: upload of ", grant.id, " by ", grant.owner, " interrupted: ", ec.message());
        co_return false;
      }
      std::size_t received = chunk.size() - req.body().size;
      if (!begun.upload->write(chunk.data(), received))
        co_return co_await answer(parser, http::status::internal_server_error, "Cannot store the file");
    }
    if (!begun.upload->commit())
      co_return co_await answer(parser, http::status::internal_server_error, "Cannot store the file");
    xmppd::log::info("http_upload: stored ", grant.id, " (", grant.size, " bytes) for ", grant.owner);
    co_return co_await answer(parser, http::status::created, "Stored");
  }

  // GET/HEAD <prefix>/<id>/<name>, with Range, If-Range and If-None-Match.
  asio::awaitable<bool> get(Parser& parser) {
    Request& req = parser.get();
    bool head = req.method() == http::verb::head;
    auto target = parse_target(req.target(), server_.prefix_);
    std::optional<StoredFile> file;
    if (target) file = server_.store_.find(target->id);
    if (!file || file->filename != target->filename)
      co_return co_await answer(parser, http::status::not_found, "Not found");
    FileDescriptor fd(::open(server_.store_.data_path(target->id).c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.fd < 0) co_return co_await answer(parser, http::status::not_found, "Not found");

    // A slot's content never changes: its id is a strong validator, and caches may keep it.
    std::string etag = '"' + target->id + '"';
    auto describe = [&](auto& res) {
      common_headers(res);
      res.set(http::field::etag, etag);
      res.set(http::field::last_modified, http_date(file->stored_at));
      res.set(http::field::cache_control, "public, max-age=31536000, immutable");
      res.set(http::field::accept_ranges, "bytes");
      res.set(http::field::access_control_expose_headers, "Content-Length, Content-Range, ETag");
    };
    if (auto match = req[http::field::if_none_match]; match == etag || match == "*") {
      http::response<http::empty_body> res{http::status::not_modified, req.version()};
      describe(res);
      res.keep_alive(req.keep_alive());
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      co_await http::async_write(http_, res, asio::use_awaitable);
      co_return req.keep_alive();
    }

    ByteRange range{0, file->size == 0 ? 0 : file->size - 1};
    RangeRequest kind = RangeRequest::whole;
    if (auto header = req[http::field::range]; !header.empty()) {
      auto if_range = req[http::field::if_range];
      if (if_range.empty() || if_range == etag) kind = parse_range(header, file->size, range);
    }
    if (kind == RangeRequest::unsatisfiable) {
      std::string all = "bytes */" + std::to_string(file->size);
      co_return co_await answer(parser, http::status::range_not_satisfiable, "Range not satisfiable",
                                http::field::content_range, all);
    }
    std::uint64_t offset = kind == RangeRequest::partial ? range.first : 0;
    std::uint64_t length = kind == RangeRequest::partial ? range.last - range.first + 1 : file->size;

    auto status = kind == RangeRequest::partial ? http::status::partial_content : http::status::ok;
    http::response<http::buffer_body> res{status, req.version()};
    describe(res);
    res.set(http::field::content_type, file->content_type);
    // The type is the uploader's word: never let a browser run it as this origin's page.
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    if (kind == RangeRequest::partial)
      res.set(http::field::content_range, "bytes " + std::to_string(range.first) + '-' + std::to_string(range.last) +
                                              '/' + std::to_string(file->size));
    res.content_length(length);
    res.keep_alive(req.keep_alive());
    res.body().data = nullptr;
    res.body().more = !head;
    http::response_serializer<http::buffer_body> serializer{res};
    beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
    co_await http::async_write_header(http_, serializer, asio::use_awaitable);
    if (head) co_return req.keep_alive();

    std::vector<char> chunk(kChunk);
    for (std::uint64_t remaining = length;;) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), remaining));
      ssize_t n = want == 0 ? 0 : ::pread(fd.fd, chunk.data(), want, static_cast<off_t>(offset));
      if (n < 0 || (want > 0 && n == 0)) {
        xmppd::log::warn("http_upload: cannot read ", target->id, " at ", offset);
        co_return false;  // the status line is gone: closing is all that is left
      }
      offset += static_cast<std::uint64_t>(n);
      remaining -= static_cast<std::uint64_t>(n);
      res.body().data = n > 0 ? chunk.data() : nullptr;
      res.body().size = static_cast<std::size_t>(n);
      res.body().more = remaining > 0;
      beast::get_lowest_layer(stream_).expires_after(kIdleTimeout);
      auto [ec, written] = co_await http::async_write(http_, serializer, kAsTuple);
      if (ec && ec != http::error::need_buffer) co_return false;
      if (remaining == 0) break;
    }
    co_return req.keep_alive();
  }

  HttpServer& server_;
  Stream stream_;
  ErasedStream<Stream> http_;  // what the HTTP reads and writes go through
  beast::flat_buffer buffer_;
};

HttpServer::HttpServer(TlsSource tls, FileStore& store, const UploadSigner& signer, std::string path_prefix,
                       std::size_t max_connections)
    : tls_(std::move(tls)),
      store_(store),
      signer_(signer),
      prefix_(std::move(path_prefix)),
      max_connections_(max_connections) {
  io_.emplace(1);
  acceptor_.emplace(*io_);
}

HttpServer::~HttpServer() { stop(); }

tcp::endpoint HttpServer::listen(const std::string& address, unsigned short port) {
  tcp::endpoint where(asio::ip::make_address(address), port);
  acceptor_->open(where.protocol());
  acceptor_->set_option(asio::socket_base::reuse_address(true));
  acceptor_->bind(where);
  acceptor_->listen();
  return acceptor_->local_endpoint();
}

void HttpServer::every(std::chrono::seconds period, std::function<void()> task) {
  auto loop = [this, period, task = std::move(task)]() -> asio::awaitable<void> {
    asio::steady_timer timer(*io_);
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
  asio::co_spawn(*io_, std::move(loop), asio::detached);
}

void HttpServer::start() {
  asio::co_spawn(*io_, accept_loop(), asio::detached);
  thread_ = std::thread([this] { io_->run(); });
}

asio::awaitable<void> HttpServer::accept_loop() {
  for (;;) {
    auto [ec, socket] = co_await acceptor_->async_accept(kAsTuple);
    if (ec == asio::error::operation_aborted || !acceptor_->is_open()) co_return;
    if (ec) {  // e.g. out of file descriptors: wait instead of spinning
      xmppd::log::warn("http_upload: accept: ", ec.message());
      asio::steady_timer pause(*io_, std::chrono::milliseconds(200));
      co_await pause.async_wait(kAsTuple);
      continue;
    }
    if (open_ >= max_connections_) {
      xmppd::log::warn("http_upload: refusing a connection: ", open_, " open (max_connections)");
      continue;  // the socket closes here
    }
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    auto serve = [connection]() -> asio::awaitable<void> { co_await connection->run(); };
    asio::co_spawn(*io_, std::move(serve), asio::detached);
  }
}

void HttpServer::stop() {
  if (!io_) return;
  io_->stop();
  if (thread_.joinable()) thread_.join();
  // Destroying the io_context destroys the suspended connections, and with them any upload
  // in progress (its .part file is removed).
  acceptor_.reset();
  io_.reset();
}

}  // namespace http_upload

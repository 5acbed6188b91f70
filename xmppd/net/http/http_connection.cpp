#include "net/http/http_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include "common/log.hpp"
#include "net/http/http_server.hpp"
#include "net/tls.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace xmppd::net::http {
namespace {

// A body a route left unread is read and dropped up to this size, so that the client sees
// the answer and the connection can be reused; a larger one closes the connection.
constexpr std::uint64_t kDrainLimit = 1024 * 1024;
constexpr std::size_t kPiece = 64 * 1024;

void add_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The last address of an X-Forwarded-For list: the one the trusted proxy itself saw.
std::string_view last_forwarded(std::string_view list) {
  auto comma = list.rfind(',');
  std::string_view last = comma == std::string_view::npos ? list : list.substr(comma + 1);
  while (!last.empty() && last.front() == ' ') last.remove_prefix(1);
  while (!last.empty() && last.back() == ' ') last.remove_suffix(1);
  return last;
}

}  // namespace

Connection::Connection(Server& server, Transport transport, bool tls)
    : server_(server),
      transport_(std::move(transport)),
      tls_(tls),
      open_(server.open_),
      executor_(transport_.socket().get_executor()),
      deadline_(executor_) {
  ++*open_;
}

Connection::~Connection() {
  if (counted_) --*open_;
}

void Connection::start() {
  if (*open_ > server_.settings_.max_connections) {
    log::warn("http: ", transport_.remote_address(), ": refused, ", server_.settings_.max_connections,
              " connections open ([http] max_connections)");
    if (!tls_)
      transport_.async_write(Server::kBusy, [self = shared_from_this()](boost::system::error_code, std::size_t) {
        self->transport_.close();
      });
    return;
  }
  asio::co_spawn(transport_.socket().get_executor(), [self = shared_from_this()] { return self->run(); },
                 asio::detached);
}

void Connection::arm_deadline() {
  deadline_.expires_after(server_.settings_.idle_timeout);
  deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->transport_.close();  // the pending read ends
  });
}

asio::awaitable<void> Connection::run() {
  try {
    arm_deadline();
    if (tls_) co_await transport_.start_tls(server_.tls_.by_sni());
    for (;;) {
      arm_deadline();
      if (!co_await read_header()) break;
      deadline_.cancel();  // a route may take its time (an upload, a BOSH request)
      describe_client();
      const Handler* handler = server_.find(request_.path());
      // Statements, not one conditional expression: GCC 12 destroys temporaries of a
      // co_await inside one twice.
      if (request_.message.method() == beast::http::verb::options) {
        Response answer_to_preflight = preflight();
        co_await answer(answer_to_preflight);
      } else if (handler) {
        auto serving = (*handler)(*this);
        co_await std::move(serving);
      }
      if (!responded_) {
        Response missing = handler ? Response::text(500, "The route gave no answer") : Response::text(404, "Not found");
        co_await answer(missing);
      }
      if (upgrade_) {
        counted_ = false;
        --*open_;
        std::exchange(upgrade_, nullptr)(std::move(transport_), std::move(buffered_));
        co_return;
      }
      if (!reusable_ || !co_await finish_body()) break;
      std::string().swap(body_piece_);  // an idle keep-alive connection holds no body buffer
    }
  } catch (const std::exception& e) {
    log::debug("http: ", transport_.remote_address(), ": connection ended: ", e.what());
  }
  deadline_.cancel();
  transport_.close_gracefully(shared_from_this());
}

asio::awaitable<bool> Connection::read_header() {
  parser_.emplace();
  request_ = Request{};
  continued_ = responded_ = false;
  reusable_ = true;
  parser_->header_limit(static_cast<std::uint32_t>(server_.settings_.max_header_bytes));
  // A route that reads the body bounds it (an upload by its slot's size); the core's own
  // routes read none.
  parser_->body_limit(boost::none);
  for (;;) {
    beast::error_code ec;
    while (!buffered_.empty() && !parser_->is_header_done()) {
      std::size_t used = parser_->put(asio::buffer(buffered_), ec);
      buffered_.erase(0, used);
      if (ec || used == 0) break;
    }
    if (parser_->is_header_done()) break;
    if (ec && ec != beast::http::error::need_more) {
      Response refusal = ec == beast::http::error::header_limit ? Response::text(431, "Request header too large")
                                                                 : Response::text(400, "Bad request: " + ec.message());
      log::info("http: ", transport_.remote_address(), ": ", ec.message());
      reusable_ = false;
      co_await answer(refusal);
      co_return false;
    }
    std::string_view data = co_await transport_.read();
    if (data.empty()) co_return false;
    buffered_.append(data);
  }
  request_.message.base() = parser_->get().base();
  co_return true;
}

void Connection::describe_client() {
  Request& request = request_;
  request.tls = tls_;
  request.remote_address = transport_.remote_address();
  request.https = request.secure = tls_;
  if (server_.trusted(transport_.remote_address())) {
    // A proxy that says the client came over plain HTTP vouches for nothing.
    std::string_view proto = request.header("X-Forwarded-Proto");
    request.secure = tls_ || proto != "http";
    request.https = tls_ || proto == "https";
    if (auto client = last_forwarded(request.header("X-Forwarded-For")); !client.empty())
      request.remote_address = std::string(client);
  }
  std::string_view origin = request.header(beast::http::field::origin);
  request.origin_allowed = origin.empty() || server_.origin_allowed(origin);
}

Response Connection::preflight() const {
  Response response;
  response.status = 204;
  response.headers = {{"Allow", "GET, HEAD, POST, PUT, OPTIONS"}};
  if (!request_.header(beast::http::field::origin).empty()) {
    response.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, OPTIONS");
    response.headers.emplace_back("Access-Control-Allow-Headers", "Authorization, Content-Type, Range");
    response.headers.emplace_back("Access-Control-Max-Age", "86400");
  }
  return response;
}

asio::awaitable<std::string_view> Connection::read_body(std::size_t max) {
  if (parser_->is_done() || max == 0) co_return std::string_view();
  if (!continued_ && beast::iequals(request_.header(beast::http::field::expect), "100-continue")) {
    continued_ = true;
    co_await transport_.write("HTTP/1.1 100 Continue\r\n\r\n");
  }
  // No bigger than what is left of a declared body: a connection kept open for the next
  // request (BOSH) should not keep 64 KiB for a 300-byte body.
  if (auto length = parser_->content_length_remaining()) max = std::min<std::size_t>(max, std::max<std::uint64_t>(*length, 1));
  body_piece_.resize(max);
  auto& body = parser_->get().body();
  for (;;) {
    body.data = body_piece_.data();
    body.size = max;
    beast::error_code ec;
    while (!buffered_.empty() && body.size > 0 && !parser_->is_done()) {
      std::size_t used = parser_->put(asio::buffer(buffered_), ec);
      buffered_.erase(0, used);
      if (ec == beast::http::error::need_buffer) ec = {};  // the piece is full
      if (ec || used == 0) break;
    }
    if (ec && ec != beast::http::error::need_more) {
      reusable_ = false;
      throw beast::system_error(ec);
    }
    const std::size_t filled = max - body.size;
    if (filled > 0 || parser_->is_done()) co_return std::string_view(body_piece_.data(), filled);
    arm_deadline();  // a client that stops sending mid-body is cut off
    std::string_view data = co_await transport_.read();
    deadline_.cancel();
    if (data.empty()) {
      reusable_ = false;
      throw beast::system_error(asio::error::eof);
    }
    buffered_.append(data);
  }
}

std::optional<std::uint64_t> Connection::content_length() const {
  auto length = parser_->content_length();
  return length ? std::optional(*length) : std::nullopt;
}

bool Connection::body_can_be_finished() const {
  if (parser_->is_done()) return true;
  // Chunked, large, or held back until we say "100 Continue": reading it is not worth it.
  auto length = parser_->content_length();
  return length && *length <= kDrainLimit &&
         (continued_ || !beast::iequals(request_.header(beast::http::field::expect), "100-continue"));
}

asio::awaitable<bool> Connection::finish_body() {
  if (!body_can_be_finished()) co_return false;
  // No co_await in a loop condition: GCC 12 miscompiles it.
  for (;;) {
    std::string_view piece = co_await read_body(kPiece);
    if (piece.empty()) co_return true;
  }
}

std::string Connection::head(unsigned status, const HttpHeaders& headers, std::optional<std::size_t> length) const {
  std::string out = "HTTP/1.1 " + std::to_string(status) + ' ';
  out.append(beast::http::obsolete_reason(static_cast<beast::http::status>(status))).append("\r\n");
  add_header(out, "Server", "xmppd");
  if (status != 101) {
    if (length) add_header(out, "Content-Length", std::to_string(*length));
    const bool keep_alive = reusable_ && request_.message.keep_alive() && status < 500 && body_can_be_finished();
    add_header(out, "Connection", keep_alive ? "keep-alive" : "close");
  }
  for (const auto& [name, value] : headers) add_header(out, name, value);
  // CORS: web pages of other origins may read what we answer, if the config allows them.
  // With no list, every answer says so (a cached one may later serve a page's request).
  std::string_view origin = request_.header(beast::http::field::origin);
  if (status != 101 && server_.settings_.allowed_origins.empty()) {
    add_header(out, "Access-Control-Allow-Origin", "*");
  } else if (status != 101 && !origin.empty() && request_.origin_allowed) {
    add_header(out, "Access-Control-Allow-Origin", origin);
    add_header(out, "Vary", "Origin");
  }
  out += "\r\n";
  return out;
}

asio::awaitable<void> Connection::answer(Response& response) {
  if (response.status == 101 && response.upgrade) {
    upgrade_ = std::move(response.upgrade);
    responded_ = true;
    std::string switching = head(101, response.headers, std::nullopt);
    co_return co_await transport_.write(switching);
  }
  if (!response.content_type.empty()) response.headers.emplace_back("Content-Type", std::move(response.content_type));
  co_await respond(response.status, response.headers, response.body);
}

asio::awaitable<void> Connection::respond(unsigned status, const HttpHeaders& headers, std::string_view body) {
  const bool bodyless = status == 204 || status == 304 || status < 200;
  if (status >= 500 || !request_.message.keep_alive()) reusable_ = false;
  std::string out = head(status, headers, bodyless ? std::nullopt : std::optional(body.size()));
  responded_ = true;
  if (request_.message.method() == beast::http::verb::head || bodyless) co_return co_await transport_.write(out);
  // A small body leaves with the head in one write; a large one (a script file) is not copied.
  if (body.size() < 16 * 1024) {
    out += body;
    co_return co_await transport_.write(out);
  }
  co_await transport_.write(out);
  co_await transport_.write(body);
}

asio::awaitable<void> Connection::respond_head(unsigned status, const HttpHeaders& headers) {
  if (status >= 500 || !request_.message.keep_alive()) reusable_ = false;
  responded_ = true;
  std::string out = head(status, headers, std::nullopt);
  co_await transport_.write(out);
}

asio::awaitable<void> Connection::respond_body(std::string_view piece) {
  if (request_.message.method() == beast::http::verb::head || piece.empty()) co_return;
  co_await transport_.write(piece);
}

}  // namespace xmppd::net::http

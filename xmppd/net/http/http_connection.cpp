#include "net/http/http_connection.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>

#include "common/log.hpp"
#include "net/http/http_server.hpp"
#include "net/tls.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace xmppd::net::http {
namespace {

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
    : server_(server), transport_(std::move(transport)), tls_(tls), deadline_(transport_.socket().get_executor()) {
  ++server_.open_;
}

Connection::~Connection() {
  if (counted_) --server_.open_;
}

void Connection::start() {
  if (server_.open_ > server_.settings_.max_connections) {
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
      Request request;
      arm_deadline();
      if (!co_await read_request(request)) break;
      deadline_.cancel();  // a route may take its time (a BOSH request waits for stanzas)
      describe_client(request);
      const bool preflight = request.message.method() == beast::http::verb::options;
      const Handler* handler = preflight ? nullptr : server_.find(request.path());
      // Statements, not one conditional expression: GCC 12 destroys temporaries of a
      // co_await inside one twice.
      Response response;
      if (preflight) {
        response = answer_preflight(request);
      } else if (handler) {
        auto answer = (*handler)(request);
        response = co_await std::move(answer);
      } else {
        response = Response::text(404, "Not found");
      }
      const bool upgrade = response.status == 101 && response.upgrade;
      const bool keep_alive = !upgrade && request.message.keep_alive() && response.status < 500;
      co_await write(request, response, keep_alive);
      if (upgrade) {
        counted_ = false;
        --server_.open_;
        response.upgrade(std::move(transport_), std::move(buffered_));
        co_return;
      }
      if (!keep_alive) break;
    }
  } catch (const std::exception& e) {
    log::debug("http: ", transport_.remote_address(), ": connection ended: ", e.what());
  }
  deadline_.cancel();
  transport_.close_gracefully(shared_from_this());
}

asio::awaitable<bool> Connection::read_request(Request& request) {
  beast::http::request_parser<beast::http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(server_.settings_.max_header_bytes));
  parser.body_limit(server_.settings_.max_body_bytes);
  parser.eager(true);
  for (;;) {
    beast::error_code ec;
    while (!buffered_.empty() && !parser.is_done()) {
      std::size_t used = parser.put(asio::buffer(buffered_), ec);
      buffered_.erase(0, used);
      if (ec || used == 0) break;
    }
    if (parser.is_done()) break;
    if (ec && ec != beast::http::error::need_more) {
      Response refusal = ec == beast::http::error::header_limit ? Response::text(431, "Request header too large")
                         : ec == beast::http::error::body_limit ? Response::text(413, "Request body too large")
                                                                 : Response::text(400, "Bad request: " + ec.message());
      log::info("http: ", transport_.remote_address(), ": ", ec.message());
      co_await write(request, refusal, false);
      co_return false;
    }
    std::string_view data = co_await transport_.read();
    if (data.empty()) co_return false;
    buffered_.append(data);
  }
  request.message = parser.release();
  co_return true;
}

void Connection::describe_client(Request& request) const {
  request.tls = tls_;
  request.remote_address = transport_.remote_address();
  request.trusted = server_.trusted(transport_.remote_address());
  request.https = request.secure = tls_;
  if (request.trusted) {
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

Response Connection::answer_preflight(const Request& request) const {
  Response response;
  response.status = 204;
  response.headers = {{"Allow", "GET, HEAD, POST, OPTIONS"}};
  if (!request.header(beast::http::field::origin).empty()) {
    response.headers.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    response.headers.emplace_back("Access-Control-Allow-Headers", "Content-Type");
    response.headers.emplace_back("Access-Control-Max-Age", "86400");
  }
  return response;
}

asio::awaitable<void> Connection::write(const Request& request, const Response& response, bool keep_alive) {
  const auto status = static_cast<beast::http::status>(response.status);
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + ' ';
  out.append(beast::http::obsolete_reason(status)).append("\r\n");
  add_header(out, "Server", "xmppd");
  if (response.status != 101) {
    if (!response.content_type.empty()) add_header(out, "Content-Type", response.content_type);
    if (response.status != 204 && response.status != 304)
      add_header(out, "Content-Length", std::to_string(response.body.size()));
    add_header(out, "Connection", keep_alive ? "keep-alive" : "close");
  }
  for (const auto& [name, value] : response.headers) add_header(out, name, value);
  // CORS: web pages of other origins may read what we answer, if the config allows them.
  std::string_view origin = request.header(beast::http::field::origin);
  if (!origin.empty() && request.origin_allowed && response.status != 101) {
    if (server_.settings_.allowed_origins.empty()) {
      add_header(out, "Access-Control-Allow-Origin", "*");
    } else {
      add_header(out, "Access-Control-Allow-Origin", origin);
      add_header(out, "Vary", "Origin");
    }
  }
  out += "\r\n";
  if (request.message.method() == beast::http::verb::head) co_return co_await transport_.write(out);
  // A small body leaves with the head in one write; a large one (a script file) is not copied.
  if (response.body.size() < 16 * 1024) {
    out += response.body;
    co_return co_await transport_.write(out);
  }
  co_await transport_.write(out);
  co_await transport_.write(response.body);
}

}  // namespace xmppd::net::http

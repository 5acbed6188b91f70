#include "stream/websocket_endpoint.hpp"

#include <boost/beast/websocket/rfc6455.hpp>

#include "common/log.hpp"
#include "config/config.hpp"
#include "net/websocket.hpp"
#include "stream/c2s_session.hpp"
#include "stream/websocket_framing.hpp"

namespace beast = boost::beast;

namespace xmppd::stream {
namespace {

// Whether a comma-separated header value lists `token` (case-sensitive, as subprotocols are).
bool lists(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    auto comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item == token) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

net::http::Response upgrade(C2SContext& ctx, const net::http::Request& request) {
  using net::http::Response;
  using beast::http::field;
  const auto& message = request.message;
  if (message.method() != beast::http::verb::get) {
    Response refused = Response::text(405, "Open a WebSocket here (GET with Upgrade: websocket)");
    refused.headers.emplace_back("Allow", "GET");
    return refused;
  }
  if (!beast::websocket::is_upgrade(message)) {
    Response refused = Response::text(426, "This is the XMPP over WebSocket endpoint (RFC 7395): connect with a WebSocket");
    refused.headers.emplace_back("Upgrade", "websocket");
    return refused;
  }
  if (request.header(field::sec_websocket_version) != "13") {
    Response refused = Response::text(426, "Unsupported WebSocket version");
    refused.headers.emplace_back("Sec-WebSocket-Version", "13");
    return refused;
  }
  std::string_view key = request.header(field::sec_websocket_key);
  if (key.empty()) return Response::text(400, "Sec-WebSocket-Key is missing");
  if (!lists(request.header(field::sec_websocket_protocol), "xmpp"))
    return Response::text(400, "The WebSocket subprotocol must be \"xmpp\" (RFC 7395 §3.1)");
  if (!request.origin_allowed) {
    log::info("websocket: ", request.remote_address, ": origin ", request.header(field::origin),
              " refused ([http] allowed_origins)");
    return Response::text(403, "This origin may not connect ([http] allowed_origins)");
  }
  if (!request.secure && ctx.config.require_encryption)
    return Response::text(403, "This server requires encryption: connect with wss://");

  Response accepted;
  accepted.status = 101;
  accepted.headers = {{"Upgrade", "websocket"},
                      {"Connection", "Upgrade"},
                      {"Sec-WebSocket-Accept", net::websocket::accept_key(key)},
                      {"Sec-WebSocket-Protocol", "xmpp"}};
  // Secure without TLS of its own: plain HTTP from a trusted proxy (or this machine).
  const bool trusted = request.secure && !request.tls;
  accepted.upgrade = [&ctx, trusted, client = request.remote_address](net::Transport transport, std::string early) {
    if (trusted) transport.set_encrypted_elsewhere(client);
    auto framing = std::make_unique<WebSocketFraming>(ctx.config.limits);
    std::make_shared<C2SSession>(ctx, std::make_shared<net::Transport>(std::move(transport)), std::move(framing),
                                 std::move(early))
        ->start();
  };
  return accepted;
}

}  // namespace

net::http::Handler websocket_endpoint(C2SContext& ctx) {
  return net::http::simple([&ctx](const net::http::Request& request) { return upgrade(ctx, request); });
}

}  // namespace xmppd::stream

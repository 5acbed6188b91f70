#include "net/http/host_meta.hpp"

namespace xmppd::net::http {
namespace {

constexpr const char* kWebSocketRel = "urn:xmpp:alt-connections:websocket";

Response describe(const Request& request, bool json) {
  std::string_view host = request.header(boost::beast::http::field::host);
  if (host.empty() || host.find_first_of("\"'<>&\\ ") != std::string_view::npos)
    return Response::text(400, "A Host header is needed to name the URLs");
  std::string websocket = std::string(request.https ? "wss://" : "ws://").append(host).append("/xmpp-websocket");
  Response response;  // readable from other origins' pages through CORS (XEP-0156 §3.2)
  if (json) {
    response.content_type = "application/json";
    response.body = std::string("{\"links\":[{\"rel\":\"") + kWebSocketRel + "\",\"href\":\"" + websocket + "\"}]}";
    return response;
  }
  response.content_type = "application/xrd+xml";
  response.body = "<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n"
                  "  <Link rel='" + std::string(kWebSocketRel) + "' href='" + websocket + "'/>\n</XRD>\n";
  return response;
}

}  // namespace

Handler host_meta(bool json) {
  return simple([json](const Request& request) { return describe(request, json); });
}

}  // namespace xmppd::net::http

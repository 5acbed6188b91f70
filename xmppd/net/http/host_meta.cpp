#include "net/http/host_meta.hpp"

#include <utility>
#include <vector>

namespace xmppd::net::http {
namespace {

// The ways in, as the asking client reached us (its Host header, http or https).
std::vector<std::pair<std::string_view, std::string>> links(const Request& request, std::string_view host) {
  return {{"urn:xmpp:alt-connections:websocket",
           std::string(request.https ? "wss://" : "ws://").append(host).append("/xmpp-websocket")},
          {"urn:xmpp:alt-connections:xbosh",
           std::string(request.https ? "https://" : "http://").append(host).append("/http-bind")}};
}

Response describe(const Request& request, bool json) {
  std::string_view host = request.header(boost::beast::http::field::host);
  if (host.empty() || host.find_first_of("\"'<>&\\ ") != std::string_view::npos)
    return Response::text(400, "A Host header is needed to name the URLs");
  Response response;  // readable from other origins' pages through CORS (XEP-0156 §3.2)
  if (json) {
    response.content_type = "application/json";
    response.body = "{\"links\":[";
    for (const auto& [rel, href] : links(request, host)) {
      if (response.body.back() == '}') response.body += ',';
      response.body.append("{\"rel\":\"").append(rel).append("\",\"href\":\"").append(href).append("\"}");
    }
    response.body += "]}";
    return response;
  }
  response.content_type = "application/xrd+xml";
  response.body = "<?xml version='1.0' encoding='utf-8'?>\n<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'>\n";
  for (const auto& [rel, href] : links(request, host))
    response.body.append("  <Link rel='").append(rel).append("' href='").append(href).append("'/>\n");
  response.body += "</XRD>\n";
  return response;
}

}  // namespace

Handler host_meta(bool json) {
  return simple([json](const Request& request) { return describe(request, json); });
}

}  // namespace xmppd::net::http

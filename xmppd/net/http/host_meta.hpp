// Connection discovery for web clients (XEP-0156): /.well-known/host-meta (XRD) and
// /.well-known/host-meta.json name the WebSocket and BOSH URLs, as reached by the asking
// client.
#pragma once

#include "net/http/http_message.hpp"

namespace xmppd::net::http {

// `json`: the JSON form (RFC 6415 §3.2 JRD) instead of XRD.
Handler host_meta(bool json);

}  // namespace xmppd::net::http

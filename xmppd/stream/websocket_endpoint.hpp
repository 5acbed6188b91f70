// The HTTP route where web clients open XMPP streams over WebSocket (RFC 7395 §3.1):
// checks the upgrade request, answers 101, and starts a c2s session on the connection.
#pragma once

#include "net/http/http_message.hpp"

namespace xmppd::stream {

struct C2SContext;

net::http::Handler websocket_endpoint(C2SContext& ctx);

}  // namespace xmppd::stream

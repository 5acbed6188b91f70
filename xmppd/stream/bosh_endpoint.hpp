// The HTTP route where clients without WebSocket speak XMPP over BOSH (XEP-0124, XEP-0206):
// a request without a 'sid' creates a session (a BoshConnection under a c2s session); the
// others are handed, on its thread, to the session their 'sid' names.
#pragma once

#include "net/http/http_message.hpp"

namespace xmppd::stream {

struct C2SContext;

net::http::Handler bosh_endpoint(C2SContext& ctx);

}  // namespace xmppd::stream

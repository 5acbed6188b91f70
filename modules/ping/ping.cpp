// XEP-0199: XMPP Ping — the server answers pings addressed to it.
#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

namespace {

constexpr const char* kPing = "urn:xmpp:ping";

class PingModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx.add_feature(kPing);
    ctx.on_iq(xmppd::IqTarget::server, "get", kPing,
              [&ctx](xmppd::Element iq) { ctx.send(xmppd::stanza::iq_result(iq)); });
  }
};

}  // namespace

XMPPD_MODULE("ping", PingModule);

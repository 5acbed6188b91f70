// XEP-0202: Entity Time of the server (always reported in UTC).

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

namespace {

constexpr const char* kTime = "urn:xmpp:time";

class TimeModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx.add_feature(kTime);
    ctx.on_iq(xmppd::IqTarget::server, "get", kTime, [&ctx](xmppd::Element iq) {
      xmppd::Element reply = xmppd::stanza::iq_result(iq);
      xmppd::Element& time = reply.add_child("time", kTime);
      time.add_child("tzo", kTime).add_text("+00:00");
      time.add_child("utc", kTime).add_text(xmppd::stanza::datetime());
      ctx.send(std::move(reply));
    });
  }
};

}  // namespace

XMPPD_MODULE("time", TimeModule);

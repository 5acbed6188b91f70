// XEP-0202: Entity Time of the server (always reported in UTC).
#include <ctime>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

namespace {

constexpr const char* kTime = "urn:xmpp:time";

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class TimeModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx.add_feature(kTime);
    ctx.on_iq(xmppd::IqTarget::server, "get", kTime, [&ctx](xmppd::Element iq) {
      xmppd::Element reply = xmppd::stanza::iq_result(iq);
      xmppd::Element& time = reply.add_child("time", kTime);
      time.add_child("tzo", kTime).add_text("+00:00");
      time.add_child("utc", kTime).add_text(utc_now());
      ctx.send(std::move(reply));
    });
  }
};

}  // namespace

XMPPD_MODULE("time", TimeModule);

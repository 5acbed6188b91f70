// XEP-0092: Software Version of the server.
#include <sys/utsname.h>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

namespace {

constexpr const char* kVersion = "jabber:iq:version";

class VersionModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    // Revealing the OS helps attackers more than users: off unless the admin wants it.
    std::string os;
    if (ctx.config().boolean("show_os", false)) {
      utsname u{};
      if (uname(&u) == 0) os = std::string(u.sysname) + " " + u.release;
    }
    ctx.add_feature(kVersion);
    ctx.on_iq(xmppd::IqTarget::server, "get", kVersion, [&ctx, os](xmppd::Element iq) {
      xmppd::Element reply = xmppd::stanza::iq_result(iq);
      xmppd::Element& query = reply.add_child("query", kVersion);
      query.add_child("name", kVersion).add_text("xmppd");
      query.add_child("version", kVersion).add_text(XMPPD_VERSION);
      if (!os.empty()) query.add_child("os", kVersion).add_text(os);
      ctx.send(std::move(reply));
    });
  }
};

}  // namespace

XMPPD_MODULE("version", VersionModule);

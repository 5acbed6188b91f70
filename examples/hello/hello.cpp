// An out-of-tree xmppd module: answers <greet xmlns='urn:example:hello'/> with a greeting.
// It is built against the public headers only (include/xmppd) and loaded at startup from
// the shared object named in [server] module_files.
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

namespace {

constexpr const char* kHello = "urn:example:hello";

class HelloModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    // Read every setting here: keys the module never asks for are reported as unknown.
    greeting_ = ctx.config().string("greeting", "Hello");
    ctx.add_feature(kHello);
    ctx.on_iq(xmppd::IqTarget::server, "get", kHello, [this, &ctx](xmppd::Element iq) {
      // Handlers run on network threads; this one only reads state set in start().
      auto from = xmppd::Jid::parse(iq.attr_or("from"));
      xmppd::Element reply = xmppd::stanza::iq_result(iq);
      reply.add_child("greeting", kHello).add_text(greeting_ + ", " + (from ? from->bare_str() : "stranger") + "!");
      ctx.send(std::move(reply));
    });
  }

 private:
  std::string greeting_;
};

}  // namespace

#ifdef XMPPD_TEST_WRONG_API
// Tests build this variant to check that the server refuses a module built for another
// API version; never define it otherwise.
extern "C" const xmppd::ModuleInfo* xmppd_module_info() {
  static const xmppd::ModuleInfo info{999, "hello", nullptr};
  return &info;
}
#else
XMPPD_EXPORT_MODULE("hello", HelloModule);
#endif

// XEP-0050 Ad-Hoc Commands, offering the XEP-0133 service administration commands to the
// host's admins. Every command takes two steps: execute returns the form, the submission
// runs it.

#include <string>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "admin_commands.hpp"
#include "command_sessions.hpp"

namespace {

namespace asio = boost::asio;
using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;
using xmppd::adhoc::AdminCommand;
using xmppd::adhoc::Outcome;

constexpr const char* kCommands = "http://jabber.org/protocol/commands";
constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";

const AdminCommand* find_command(std::string_view node) {
  for (const AdminCommand& c : xmppd::adhoc::admin_commands())
    if (c.node == node) return &c;
  return nullptr;
}

class AdhocModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    admin_ = std::make_unique<xmppd::adhoc::AdminContext>(
        xmppd::adhoc::AdminContext{ctx});
    ctx.add_feature(kCommands);
    ctx.on_iq(xmppd::IqTarget::server, "set", kCommands, [this](Element iq) { on_command(std::move(iq)); });
    // The disco module answers the host's disco queries without nodes; the commands node
    // is answered here, on the way in from the client (the server has no other peers).
    ctx.on_outgoing(0, [this](xmppd::StanzaEvent& e) { return on_disco_node(e); });
  }

 private:
  // Discovery of the commands (§2.2) and of one command (§2.3) ----------------------------

  HookResult on_disco_node(xmppd::StanzaEvent& e) {
    if (e.stanza.name() != "iq" || e.stanza.attr_or("type") != "get" || e.to.str() != ctx_->host())
      return HookResult::pass;
    const Element* query = e.stanza.first_child();
    if (!query || query->name() != "query") return HookResult::pass;
    std::string_view node = query->attr_or("node");
    bool admin = ctx_->is_admin(e.from);
    if (query->ns() == kDiscoItems && node == kCommands) {
      ctx_->send(commands_list(e.stanza, admin));
      return HookResult::handled;
    }
    if (query->ns() == kDiscoInfo && (node == kCommands || find_command(node))) {
      ctx_->send(admin || node == kCommands ? command_info(e.stanza, std::string(node))
                                            : xmppd::stanza::error(e.stanza, "item-not-found"));
      return HookResult::handled;
    }
    return HookResult::pass;
  }

  // Non-admins see an empty list: there is nothing they may run.
  Element commands_list(const Element& iq, bool admin) const {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kDiscoItems);
    query.set_attr("node", kCommands);
    if (!admin) return reply;
    for (const AdminCommand& c : xmppd::adhoc::admin_commands()) {
      Element& item = query.add_child("item", kDiscoItems);
      item.set_attr("jid", ctx_->host());
      item.set_attr("node", c.node);
      item.set_attr("name", c.name);
    }
    return reply;
  }

  Element command_info(const Element& iq, const std::string& node) const {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kDiscoInfo);
    query.set_attr("node", node);
    Element& identity = query.add_child("identity", kDiscoInfo);
    identity.set_attr("category", "automation");
    if (node == kCommands) {
      identity.set_attr("type", "command-list");
    } else {
      identity.set_attr("type", "command-node");
      identity.set_attr("name", find_command(node)->name);
      query.add_child("feature", kDiscoInfo).set_attr("var", kCommands);
      query.add_child("feature", kDiscoInfo).set_attr("var", xmppd::adhoc::kDataForms);
    }
    return reply;
  }

  // Execution (§3.4) -----------------------------------------------------------------------

  void on_command(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from || !ctx_->is_admin(*from)) return ctx_->send(xmppd::stanza::error(iq, "forbidden"));
    const Element* command = iq.child("command", kCommands);
    if (!command) return ctx_->send(xmppd::stanza::error(iq, "bad-request"));
    const AdminCommand* c = find_command(command->attr_or("node"));
    if (!c) return ctx_->send(xmppd::stanza::error(iq, "item-not-found"));
    std::string action(command->attr_or("action", "execute"));
    std::string session(command->attr_or("sessionid"));

    if (session.empty()) {
      if (action != "execute") return ctx_->send(bad_request(iq, "bad-action"));
      return ctx_->send(form_stage(iq, *c, sessions_.open(c->node, *from)));
    }
    if (!sessions_.close(session, c->node, *from)) return ctx_->send(bad_request(iq, "bad-sessionid"));
    if (action == "cancel") return ctx_->send(completed(iq, *c, session, "canceled", Outcome{}));
    if (action != "execute" && action != "complete") return ctx_->send(bad_request(iq, "bad-action"));
    auto form = xmppd::adhoc::Submission::from(*command);
    if (!form) return ctx_->send(bad_request(iq, "bad-payload"));

    auto task = [this, iq = std::move(iq), c, session, form = std::move(*form)]() mutable -> asio::awaitable<void> {
      Outcome outcome;
      try {
        outcome = co_await c->run(*admin_, form);
      } catch (const std::exception&) {
        outcome.error = "internal-server-error";
      }
      if (!outcome.error.empty()) co_return ctx_->send(xmppd::stanza::error(iq, outcome.error, outcome.note));
      ctx_->send(completed(iq, *c, session, "completed", std::move(outcome)));
    };
    ctx_->spawn(std::move(task));
  }

  static Element form_stage(const Element& iq, const AdminCommand& c, const std::string& session) {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& command = reply.add_child("command", kCommands);
    command.set_attr("node", c.node);
    command.set_attr("sessionid", session);
    command.set_attr("status", "executing");
    Element& actions = command.add_child("actions", kCommands);
    actions.set_attr("execute", "complete");
    actions.add_child("complete", kCommands);
    command.add_child(xmppd::adhoc::make_form("form", xmppd::adhoc::kAdminForms, c.name, c.fields));
    return reply;
  }

  static Element completed(const Element& iq, const AdminCommand& c, const std::string& session,
                           const char* status, Outcome outcome) {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& command = reply.add_child("command", kCommands);
    command.set_attr("node", c.node);
    command.set_attr("sessionid", session);
    command.set_attr("status", status);
    if (!outcome.note.empty()) command.add_child("note", kCommands).set_attr("type", "info").add_text(outcome.note);
    if (outcome.result) command.add_child(std::move(*outcome.result));
    return reply;
  }

  // §4.6: bad-request with the specific XEP-0050 condition.
  static Element bad_request(const Element& iq, const char* condition) {
    Element reply = xmppd::stanza::error(iq, "bad-request");
    reply.child("error", xmppd::ns::kClient)->add_child(condition, kCommands);
    return reply;
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::unique_ptr<xmppd::adhoc::AdminContext> admin_;
  xmppd::adhoc::CommandSessions sessions_;
};

}  // namespace

XMPPD_MODULE("adhoc", AdhocModule);

// XEP-0030 Service Discovery for the server and accounts, XEP-0115 entity capabilities
// of the server (advertised in stream features), XEP-0157 contact addresses from config.

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include <xmppd/caps.hpp>
#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

namespace {

using xmppd::Element;

constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kItems = "http://jabber.org/protocol/disco#items";
constexpr const char* kCaps = "http://jabber.org/protocol/caps";
constexpr const char* kData = "jabber:x:data";
constexpr const char* kServerInfo = "http://jabber.org/network/serverinfo";
constexpr const char* kCapsNode = "https://github.com/xmppd/xmppd";

// XEP-0157 fields, as config key → form field.
constexpr std::pair<const char*, const char*> kAddressFields[] = {
    {"abuse_addresses", "abuse-addresses"},       {"admin_addresses", "admin-addresses"},
    {"feedback_addresses", "feedback-addresses"}, {"sales_addresses", "sales-addresses"},
    {"security_addresses", "security-addresses"}, {"status_addresses", "status-addresses"},
    {"support_addresses", "support-addresses"},
};

class DiscoModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    for (auto [key, var] : kAddressFields) {
      auto values = ctx.config().strings(key, {});
      if (!values.empty()) addresses_.emplace_back(var, std::move(values));
    }
    ctx.add_feature(kInfo);
    ctx.add_feature(kItems);
    ctx.add_identity("server", "im", "xmppd");

    ctx.on_iq(xmppd::IqTarget::server, "get", kInfo, [this](Element iq) { server_info(std::move(iq)); });
    ctx.on_iq(xmppd::IqTarget::server, "get", kItems, [this](Element iq) {
      // The host's items are the services its modules serve (MUC, upload, proxy, ...).
      Element reply = xmppd::stanza::iq_result(iq);
      Element& query = reply.add_child("query", kItems);
      for (const std::string& domain : ctx_->components()) query.add_child("item", kItems).set_attr("jid", domain);
      ctx_->send(std::move(reply));
    });
    ctx.on_iq(xmppd::IqTarget::account, "get", kInfo, [this](Element iq) { account_info(std::move(iq)); });
    ctx.add_stream_feature([this](Element& features, bool) {
      Element& c = features.add_child("c", kCaps);
      c.set_attr("hash", "sha-1");
      c.set_attr("node", kCapsNode);
      c.set_attr("ver", caps_ver());
    });
  }

 private:
  // The host's whole disco#info answer: identities, features, the contact-address form.
  Element info_query() const {
    Element query("query", kInfo);
    for (const Element& identity : ctx_->identities()) query.add_child(identity);
    for (const std::string& f : ctx_->features()) query.add_child("feature", kInfo).set_attr("var", f);
    if (!addresses_.empty()) {
      Element& form = query.add_child("x", kData);
      form.set_attr("type", "result");
      Element& type = form.add_child("field", kData);
      type.set_attr("var", "FORM_TYPE");
      type.set_attr("type", "hidden");
      type.add_child("value", kData).add_text(kServerInfo);
      for (const auto& [var, values] : addresses_) {
        Element& field = form.add_child("field", kData);
        field.set_attr("var", var);
        for (const auto& v : values) field.add_child("value", kData).add_text(v);
      }
    }
    return query;
  }

  // XEP-0115 §5.1, computed once all modules have registered.
  const std::string& caps_ver() {
    std::call_once(ver_once_, [this] { ver_ = xmppd::caps::ver(info_query()); });
    return ver_;
  }

  void server_info(Element iq) {
    const Element* request = iq.child("query", kInfo);
    std::string node(request->attr_or("node"));
    if (!node.empty() && node != std::string(kCapsNode) + "#" + caps_ver()) {
      ctx_->send(xmppd::stanza::error(iq, "item-not-found"));
      return;
    }
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child(info_query());
    if (!node.empty()) query.set_attr("node", node);
    ctx_->send(std::move(reply));
  }

  // An account's own disco#info is answered by the server on its behalf (XEP-0030 §3.1);
  // others learn nothing about the account.
  void account_info(Element iq) {
    auto from = xmppd::Jid::parse(iq.attr_or("from"));
    auto to = xmppd::Jid::parse(iq.attr_or("to"));
    if (!from || (to && to->bare() != from->bare())) {
      ctx_->send(xmppd::stanza::error(iq, "service-unavailable"));
      return;
    }
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kInfo);
    Element& identity = query.add_child("identity", kInfo);
    identity.set_attr("category", "account");
    identity.set_attr("type", "registered");
    for (const Element& i : ctx_->account_identities()) query.add_child(i);
    query.add_child("feature", kInfo).set_attr("var", kInfo);
    for (const std::string& f : ctx_->account_features()) query.add_child("feature", kInfo).set_attr("var", f);
    ctx_->send(std::move(reply));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::vector<std::pair<std::string, std::vector<std::string>>> addresses_;
  std::once_flag ver_once_;
  std::string ver_;
};

}  // namespace

XMPPD_MODULE("disco", DiscoModule);

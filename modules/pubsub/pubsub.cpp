// XEP-0060 Publish-Subscribe as a service of its own at pubsub.<host>: nodes that anyone
// allowed may create (the creator becomes the owner), explicit subscriptions, and owners
// who manage configuration, subscriptions and affiliations. The protocol is the engine
// PEP uses (modules/pep/pubsub_service.hpp); here is only what makes it a component.


#include <memory>
#include <set>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "pubsub_service.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using namespace pep;
using xmppd::Element;
using xmppd::Jid;

constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kItems = "http://jabber.org/protocol/disco#items";

class PubsubModule final : public xmppd::Module {
 public:
  bool reload() override {
    service_->read_limits(ctx_->config(), 1000, 10000);  // for the whole service
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const xmppd::ModuleConfig& c = ctx.config();
    std::string domain = c.string("domain", "pubsub." + ctx.host());
    auto service = Jid::parse(domain);
    if (!service || !service->node().empty() || !service->is_bare()) c.reject("domain", "not a domain name: " + domain);
    domain_ = *service;
    for (const std::string& creator : c.strings("creators", {})) {
      auto jid = Jid::parse(creator);
      if (!jid || !jid->is_bare() || jid->node().empty()) c.reject("creators", "not a bare JID: " + creator);
      creators_.insert(jid->bare_str());
    }
    auto store = ctx.storage().call([](xmppd::storage::Storage& s) { return std::make_shared<PubsubStore>(s.database()); });
    // Nodes of a general service are open, and keep as many items as the service allows.
    NodeConfig defaults;
    defaults.access = Access::open;
    defaults.max_items = kMaxItems;
    service_ = std::make_unique<PubsubService>(ctx, std::move(store), defaults,
                                               [this](const Jid&, const Jid& requester) { return may_create(requester); });
    reload();
    strand_ = ctx.add_component(domain_.str(), [this](Element stanza, const Jid&, const Jid& to) {
      on_stanza(std::move(stanza), to);
    });
  }

 private:
  // Those listed in `creators`, or else any account of this host (and its admins).
  bool may_create(const Jid& requester) const {
    if (ctx_->is_admin(requester)) return true;
    if (!creators_.empty()) return creators_.contains(requester.bare_str());
    return !requester.node().empty() && requester.domain() == ctx_->host();
  }

  void on_stanza(Element stanza, const Jid& to) {
    if (stanza.name() != "iq") {
      if (stanza.name() == "message" && xmppd::stanza::may_reply_with_error(stanza))
        ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
      return;
    }
    std::string_view type = stanza.attr_or("type");
    if (type != "get" && type != "set") return;
    const Element* payload = stanza.first_child();
    if (!payload) return ctx_->send(xmppd::stanza::error(stanza, "bad-request"));
    if (to != domain_) return ctx_->send(xmppd::stanza::error(stanza, "item-not-found"));  // no JIDs at the service
    if (payload->is("pubsub", kPubsub)) return run(service_->on_pubsub(std::move(stanza), domain_));
    if (payload->is("pubsub", kPubsubOwner)) return run(service_->on_owner(std::move(stanza), domain_));
    if (type == "get" && payload->is("query", kItems)) return run(service_->on_items(std::move(stanza), domain_));
    if (type == "get" && payload->is("query", kInfo)) return run(disco_info(std::move(stanza)));
    ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
  }

  // One request at a time, in arrival order: the component's strand runs them.
  void run(asio::awaitable<void> request) { ctx_->spawn(strand_, std::move(request)); }

  // XEP-0060 §5.1 and §5.3: the service, or a node with its metadata.
  asio::awaitable<void> disco_info(Element iq) {
    std::string node(iq.first_child()->attr_or("node"));
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kInfo);
    auto identity = [&query](const char* type) {
      query.add_child("identity", kInfo).set_attr("category", "pubsub").set_attr("type", type);
    };
    if (node.empty()) {
      identity("service");
      for (const char* f : {kInfo, kItems}) query.add_child("feature", kInfo).set_attr("var", f);
      for (const char* f : PubsubService::features()) query.add_child("feature", kInfo).set_attr("var", f);
      co_return ctx_->send(std::move(reply));
    }
    auto work = [service = service_.get(), domain = domain_.str(), node](xmppd::storage::Storage&) {
      return service->store().node(domain, node);
    };
    std::optional<NodeConfig> config = co_await ctx_->storage().run(work);
    if (!config) co_return ctx_->send(pubsub_error(iq, "item-not-found"));
    query.set_attr("node", node);
    identity("leaf");
    query.add_child("feature", kInfo).set_attr("var", kPubsub);
    Element meta = config_form(*config);  // §5.4: the metadata form, as a result
    meta.set_attr("type", "result");
    for (Element& field : meta.nodes())
      if (field.attr_or("var") == "FORM_TYPE")
        if (Element* value = field.child("value", kDataForms)) {
          value->clear_children();
          value->add_text("http://jabber.org/protocol/pubsub#meta-data");
        }
    query.add_child(std::move(meta));
    ctx_->send(std::move(reply));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  asio::any_io_executor strand_;
  Jid domain_;
  std::set<std::string> creators_;
  std::unique_ptr<PubsubService> service_;
};

}  // namespace

XMPPD_MODULE("pubsub", PubsubModule);

// XEP-0163 Personal Eventing Protocol: every account's bare JID is a PubSub service
// (XEP-0060) of its own, where the account publishes its avatar, nickname, bookmarks and
// OMEMO keys. Nodes are made on first publish; publish-options are preconditions; the
// items go to the account's own resources and to contacts allowed by the node's access
// model whose entity capabilities ask for "<node>+notify", and the last ones to each such
// resource when it comes online.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <xmppd/caps.hpp>
#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "caps_book.hpp"
#include "common/log.hpp"
#include "node_config.hpp"
#include "pep_store.hpp"
#include "storage/roster_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using namespace pep;
using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;
using xmppd::storage::Subscription;
namespace stanza = xmppd::stanza;

constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kItems = "http://jabber.org/protocol/disco#items";

// An error reply with a pubsub#errors condition too (XEP-0060 §7 and §6).
Element pubsub_error(const Element& iq, std::string_view condition, std::string_view app = {}) {
  Element reply = stanza::error(iq, condition);
  if (!app.empty())
    if (Element* e = reply.child("error", xmppd::ns::kClient)) e->add_child(std::string(app), kPubsubErrors);
  return reply;
}

std::string random_item_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (std::uint64_t n = rng(), i = 0; i < 16; ++i, n >>= 4) id += kHex[n & 15];
  return id;
}

// Who may read a node: the owner always; others as its access model says, judged from
// the owner's roster item for them.
bool may_read(const NodeConfig& config, bool owner, const std::optional<xmppd::storage::RosterItem>& item) {
  if (owner) return true;
  switch (config.access) {
    case Access::open: return true;
    case Access::presence:
      return item && (item->subscription == Subscription::from || item->subscription == Subscription::both);
    case Access::roster: return item && item->in_roster;
    case Access::whitelist: return false;
  }
  return false;
}

// The owner's roster, and the owner's roster item for one contact (`owner`: a bare JID).
std::vector<xmppd::storage::RosterItem> roster_of(xmppd::storage::Storage& s, const std::string& owner) {
  auto at = owner.find('@');
  return s.roster().items(owner.substr(0, at), owner.substr(at + 1));
}
std::optional<xmppd::storage::RosterItem> roster_item(xmppd::storage::Storage& s, const std::string& owner,
                                                      const std::string& contact) {
  auto at = owner.find('@');
  return s.roster().item(owner.substr(0, at), owner.substr(at + 1), contact);
}

const char* refusal_of(Access access) {
  switch (access) {
    case Access::presence: return "presence-subscription-required";
    case Access::roster: return "not-in-roster-group";
    default: return "closed-node";
  }
}

class PepModule final : public xmppd::Module {
 public:
  bool reload() override {
    const xmppd::ModuleConfig& c = ctx_->config();
    max_items_.store(c.integer("max_items", 256, 1, 100000));
    max_item_bytes_.store(c.integer("max_item_bytes", 262144, 1024, 16 * 1024 * 1024));
    max_nodes_.store(c.integer("max_nodes", 200, 1, 100000));
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    reload();
    strand_ = asio::make_strand(ctx.executor());
    store_ = ctx.storage().call([](xmppd::storage::Storage& s) { return std::make_shared<PepStore>(s.database()); });
    for (const char* f : {"http://jabber.org/protocol/pubsub", "http://jabber.org/protocol/pubsub#publish",
                          "http://jabber.org/protocol/pubsub#publish-options", "http://jabber.org/protocol/pubsub#auto-create",
                          "http://jabber.org/protocol/pubsub#create-nodes", "http://jabber.org/protocol/pubsub#config-node",
                          "http://jabber.org/protocol/pubsub#delete-nodes", "http://jabber.org/protocol/pubsub#purge-nodes",
                          "http://jabber.org/protocol/pubsub#retrieve-items", "http://jabber.org/protocol/pubsub#retract-items",
                          "http://jabber.org/protocol/pubsub#persistent-items", "http://jabber.org/protocol/pubsub#last-published",
                          "http://jabber.org/protocol/pubsub#access-open", "http://jabber.org/protocol/pubsub#access-presence",
                          "http://jabber.org/protocol/pubsub#access-roster", "http://jabber.org/protocol/pubsub#access-whitelist",
                          "http://jabber.org/protocol/pubsub#multi-items"})
      ctx.add_account_feature(f);
    ctx.add_account_identity("pubsub", "pep", "");  // XEP-0163 §9
    ctx.add_account_feature(kItems);
    ctx.on_iq(xmppd::IqTarget::account, "get", kItems, [this](Element iq) { on_strand(&PepModule::on_items, std::move(iq)); });
    ctx.add_feature("http://jabber.org/protocol/pubsub#publish");  // servers advertise PEP support too
    for (const char* type : {"get", "set"}) {
      ctx.on_iq(xmppd::IqTarget::account, type, kPubsub, [this](Element iq) { on_strand(&PepModule::on_pubsub, std::move(iq)); });
      ctx.on_iq(xmppd::IqTarget::account, type, kPubsubOwner, [this](Element iq) { on_strand(&PepModule::on_owner, std::move(iq)); });
    }
    ctx.on_presence_broadcast(0, [this](xmppd::PresenceEvent& e) {
      on_presence(e.from, e.presence);
      return HookResult::pass;
    });
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& e) {
      caps_.forget(e.jid.str());
      std::lock_guard lock(mutex_);
      greeted_.erase(e.jid.str());
      return HookResult::pass;
    });
  }

 private:
  // Requests run one at a time, in order, so a publish and the read after it never cross.
  void on_strand(asio::awaitable<void> (PepModule::*handler)(Element), Element iq) {
    asio::co_spawn(strand_, (this->*handler)(std::move(iq)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        xmppd::log::error("pep: ", ex.what());
      }
    });
  }

  // XEP-0060 §6 and §7 (entity use cases) -------------------------------------------------

  asio::awaitable<void> on_pubsub(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) co_return;
    auto to = Jid::parse(iq.attr_or("to"));
    Jid service = to ? to->bare() : from->bare();
    bool owner = service == from->bare();
    const Element& pubsub = *iq.first_child();
    bool set = iq.attr_or("type") == "set";
    if (set && pubsub.child("publish", kPubsub)) co_return co_await publish(iq, service, owner);
    if (set && pubsub.child("retract", kPubsub)) co_return co_await retract(iq, service, owner);
    if (set && pubsub.child("create", kPubsub)) co_return co_await create(iq, service, owner);
    if (!set && pubsub.child("items", kPubsub)) co_return co_await items(iq, service, *from, owner);
    if (pubsub.child("subscribe", kPubsub) || pubsub.child("unsubscribe", kPubsub))
      co_return ctx_->send(pubsub_error(iq, "feature-not-implemented", "subscribe"));  // PEP subscribes by caps
    ctx_->send(pubsub_error(iq, "feature-not-implemented"));
  }

  asio::awaitable<void> publish(const Element& iq, const Jid& service, bool owner) {
    const Element& pubsub = *iq.first_child();
    const Element& request = *pubsub.child("publish", kPubsub);
    std::string node(request.attr_or("node"));
    if (!owner) co_return ctx_->send(pubsub_error(iq, "forbidden"));
    if (node.empty()) co_return ctx_->send(pubsub_error(iq, "bad-request", "nodeid-required"));
    const Element* item = request.child("item", kPubsub);
    Item stored{item ? std::string(item->attr_or("id")) : std::string(), service.bare_str(), {}};
    const Element* payload = item ? item->first_child() : nullptr;
    std::size_t payloads = 0;
    if (item)
      for (const Element& n : item->nodes()) payloads += !n.is_text();
    if (!payload || payloads != 1) co_return ctx_->send(pubsub_error(iq, "bad-request", payloads ? "invalid-payload" : "item-required"));
    stored.payload = payload->str();
    if (std::int64_t(stored.payload.size()) > max_item_bytes_.load())
      co_return ctx_->send(pubsub_error(iq, "not-acceptable", "payload-too-big"));
    if (stored.id.empty()) stored.id = random_item_id();
    const Element* options = nullptr;
    if (const Element* po = pubsub.child("publish-options", kPubsub)) options = po->child("x", kDataForms);

    struct Outcome {
      const char* condition = nullptr;
      const char* app = nullptr;
      NodeConfig config;
      std::vector<xmppd::storage::RosterItem> roster;
    };
    std::optional<NodeConfig> requested;
    if (options) {
      requested = apply_form(*options, NodeConfig{});
      if (!requested) co_return ctx_->send(pubsub_error(iq, "conflict", "precondition-not-met"));
    }
    std::int64_t server_max = max_items_.load(), max_nodes = max_nodes_.load();
    auto work = [store = store_, service = service.bare_str(), node, &stored, &options, &requested, server_max,
                 max_nodes](xmppd::storage::Storage& s) {
      Outcome out;
      std::optional<NodeConfig> config = store->node(service, node);
      if (!config) {  // XEP-0163 §7: the first publish creates the node
        if (store->node_count(service) >= max_nodes) {
          out.condition = "not-allowed";
          out.app = "max-nodes-exceeded";
          return out;
        }
        config = requested.value_or(NodeConfig{});
        store->save_node(service, node, *config, server_max);
      } else if (options && !preconditions_hold(*options, *config)) {
        out.condition = "conflict";
        out.app = "precondition-not-met";
        return out;
      }
      out.config = *config;
      std::int64_t keep = config->max_items == kMaxItems ? server_max : std::min(config->max_items, server_max);
      store->publish(service, node, stored, config->persist_items ? keep : 1);
      out.roster = roster_of(s, service);
      return out;
    };
    Outcome out = co_await ctx_->storage().run(work);
    if (out.condition) co_return ctx_->send(pubsub_error(iq, out.condition, out.app));
    xmppd::log::debug("pep: ", service.bare_str(), " published ", node, " item ", stored.id);
    Element reply = stanza::iq_result(iq);
    Element& published = reply.add_child("pubsub", kPubsub).add_child("publish", kPubsub);
    published.set_attr("node", node);
    published.add_child("item", kPubsub).set_attr("id", stored.id);
    ctx_->send(std::move(reply));

    notify(service, node, out.config, out.roster, item_event(service, node, stored));
  }

  asio::awaitable<void> retract(const Element& iq, const Jid& service, bool owner) {
    const Element& request = *iq.first_child()->child("retract", kPubsub);
    std::string node(request.attr_or("node"));
    const Element* item = request.child("item", kPubsub);
    if (!owner) co_return ctx_->send(pubsub_error(iq, "forbidden"));
    if (node.empty()) co_return ctx_->send(pubsub_error(iq, "bad-request", "nodeid-required"));
    if (!item || item->attr_or("id").empty()) co_return ctx_->send(pubsub_error(iq, "bad-request", "item-required"));
    std::string id(item->attr_or("id"));
    struct Outcome {
      std::optional<NodeConfig> config;
      bool removed = false;
      std::vector<xmppd::storage::RosterItem> roster;
    };
    auto work = [store = store_, service = service.bare_str(), node, id](xmppd::storage::Storage& s) {
      Outcome out;
      out.config = store->node(service, node);
      if (!out.config) return out;
      out.removed = store->retract(service, node, id);
      out.roster = roster_of(s, service);
      return out;
    };
    Outcome out = co_await ctx_->storage().run(work);
    if (!out.config || !out.removed) co_return ctx_->send(pubsub_error(iq, "item-not-found"));
    ctx_->send(stanza::iq_result(iq));
    std::string_view notify_attr = request.attr_or("notify");
    if (notify_attr == "true" || notify_attr == "1" || out.config->notify_retract) {
      Element event = event_message(service, node);
      event.child("event", kPubsubEvent)->child("items", kPubsubEvent)->add_child("retract", kPubsubEvent).set_attr("id", id);
      notify(service, node, *out.config, out.roster, event);
    }
  }

  asio::awaitable<void> create(const Element& iq, const Jid& service, bool owner) {
    const Element& pubsub = *iq.first_child();
    std::string node(pubsub.child("create", kPubsub)->attr_or("node"));
    if (!owner) co_return ctx_->send(pubsub_error(iq, "forbidden"));
    if (node.empty()) co_return ctx_->send(pubsub_error(iq, "not-acceptable", "nodeid-required"));
    NodeConfig config;
    if (const Element* configure = pubsub.child("configure", kPubsub))
      if (const Element* form = configure->child("x", kDataForms)) {
        auto applied = apply_form(*form, config);
        if (!applied) co_return ctx_->send(pubsub_error(iq, "not-acceptable"));
        config = *applied;
      }
    std::int64_t server_max = max_items_.load(), max_nodes = max_nodes_.load();
    auto work = [store = store_, service = service.bare_str(), node, config, server_max, max_nodes](xmppd::storage::Storage&) {
      if (store->node(service, node)) return "conflict";
      if (store->node_count(service) >= max_nodes) return "not-allowed";
      store->save_node(service, node, config, server_max);
      return "";
    };
    std::string condition = co_await ctx_->storage().run(work);
    if (!condition.empty()) co_return ctx_->send(pubsub_error(iq, condition, condition == "not-allowed" ? "max-nodes-exceeded" : ""));
    ctx_->send(stanza::iq_result(iq));
  }

  asio::awaitable<void> items(const Element& iq, const Jid& service, const Jid& requester, bool owner) {
    const Element& request = *iq.first_child()->child("items", kPubsub);
    std::string node(request.attr_or("node"));
    if (node.empty()) co_return ctx_->send(pubsub_error(iq, "bad-request", "nodeid-required"));
    std::int64_t max = 0;
    if (const std::string* m = request.attr("max_items")) {
      try {
        max = std::stoll(*m);
      } catch (const std::exception&) {
        max = -1;
      }
      if (max <= 0) co_return ctx_->send(pubsub_error(iq, "bad-request"));
    }
    std::vector<std::string> ids;
    for (const Element& n : request.nodes())
      if (n.is("item", kPubsub) && n.attr("id")) ids.emplace_back(n.attr_or("id"));
    struct Outcome {
      std::optional<NodeConfig> config;
      bool allowed = false;
      std::vector<Item> items;
    };
    auto work = [store = store_, service = service.bare_str(), node, max, ids, owner,
                 requester = requester.bare_str()](xmppd::storage::Storage& s) {
      Outcome out;
      out.config = store->node(service, node);
      if (!out.config) return out;
      std::optional<xmppd::storage::RosterItem> item;
      if (!owner) item = roster_item(s, service, requester);
      out.allowed = may_read(*out.config, owner, item);
      if (out.allowed) out.items = store->items(service, node, max, ids);
      return out;
    };
    Outcome out = co_await ctx_->storage().run(work);
    if (!out.config) co_return ctx_->send(pubsub_error(iq, "item-not-found"));
    if (!out.allowed) {
      Access a = out.config->access;
      co_return ctx_->send(pubsub_error(iq, a == Access::whitelist ? "not-allowed" : "not-authorized", refusal_of(a)));
    }
    Element reply = stanza::iq_result(iq);
    Element& list = reply.add_child("pubsub", kPubsub).add_child("items", kPubsub);
    list.set_attr("node", node);
    for (const Item& i : out.items) {
      Element& e = list.add_child("item", kPubsub);
      e.set_attr("id", i.id);
      if (auto p = Element::parse(i.payload, "")) e.add_child(std::move(*p));
    }
    ctx_->send(std::move(reply));
  }

  // XEP-0060 §5.2: the account's nodes, those the requester may read.
  asio::awaitable<void> on_items(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) co_return;
    auto to = Jid::parse(iq.attr_or("to"));
    Jid service = to ? to->bare() : from->bare();
    if (iq.first_child()->attr("node")) co_return ctx_->send(pubsub_error(iq, "item-not-found"));
    bool owner = service == from->bare();
    auto work = [store = store_, service = service.bare_str(), owner, requester = from->bare_str()](xmppd::storage::Storage& s) {
      std::optional<xmppd::storage::RosterItem> item;
      if (!owner) item = roster_item(s, service, requester);
      std::vector<std::string> readable;
      for (const std::string& node : store->nodes(service))
        if (auto config = store->node(service, node); config && may_read(*config, owner, item)) readable.push_back(node);
      return readable;
    };
    std::vector<std::string> nodes = co_await ctx_->storage().run(work);
    Element reply = stanza::iq_result(iq);
    Element& query = reply.add_child("query", kItems);
    for (const std::string& node : nodes) {
      Element& item = query.add_child("item", kItems);
      item.set_attr("jid", service.bare_str());
      item.set_attr("node", node);
    }
    ctx_->send(std::move(reply));
  }

  // XEP-0060 §8 (owner use cases) ----------------------------------------------------------

  asio::awaitable<void> on_owner(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) co_return;
    auto to = Jid::parse(iq.attr_or("to"));
    Jid service = to ? to->bare() : from->bare();
    if (service != from->bare()) co_return ctx_->send(pubsub_error(iq, "forbidden"));
    const Element& pubsub = *iq.first_child();
    const Element* request = pubsub.first_child();
    std::string node(request ? request->attr_or("node") : "");
    bool set = iq.attr_or("type") == "set";
    if (!request || node.empty()) co_return ctx_->send(pubsub_error(iq, "bad-request", "nodeid-required"));
    std::string what = request->name();
    if (set && what == "configure") {  // the form is applied on top of the node's config below
      const Element* form = request->child("x", kDataForms);
      if (!form) co_return ctx_->send(pubsub_error(iq, "bad-request"));
      if (form->attr_or("type") == "cancel") co_return ctx_->send(stanza::iq_result(iq));
    } else if (!(what == "configure" && !set) && !(set && (what == "delete" || what == "purge"))) {
      co_return ctx_->send(pubsub_error(iq, "feature-not-implemented"));
    }
    struct Outcome {
      std::optional<NodeConfig> config;
      bool invalid = false;
      std::vector<xmppd::storage::RosterItem> roster;
    };
    std::int64_t server_max = max_items_.load();
    const Element* form = request->child("x", kDataForms);
    auto work = [store = store_, service = service.bare_str(), node, what, set, form, server_max](xmppd::storage::Storage& s) {
      Outcome out;
      out.config = store->node(service, node);
      if (!out.config || !set) return out;
      if (what == "configure") {
        auto applied = apply_form(*form, *out.config);
        if (!applied) {
          out.invalid = true;
          return out;
        }
        out.config = applied;
        store->save_node(service, node, *applied, server_max);
        return out;
      }
      if (what == "delete") store->remove_node(service, node);
      else store->purge(service, node);
      out.roster = roster_of(s, service);
      return out;
    };
    Outcome out = co_await ctx_->storage().run(work);
    if (!out.config) co_return ctx_->send(pubsub_error(iq, "item-not-found"));
    if (out.invalid) co_return ctx_->send(pubsub_error(iq, "not-acceptable"));
    if (!set) {
      Element reply = stanza::iq_result(iq);
      Element& configure = reply.add_child("pubsub", kPubsubOwner).add_child("configure", kPubsubOwner);
      configure.set_attr("node", node);
      configure.add_child(config_form(*out.config));
      co_return ctx_->send(std::move(reply));
    }
    ctx_->send(stanza::iq_result(iq));
    if (what == "configure") co_return;
    Element event("message", xmppd::ns::kClient);
    event.set_attr("from", service.bare_str());
    event.set_attr("type", "headline");
    event.add_child("event", kPubsubEvent).add_child(what, kPubsubEvent).set_attr("node", node);
    notify(service, node, *out.config, out.roster, event);
  }

  // Notifications ---------------------------------------------------------------------------

  // A notification of one published item.
  static Element item_event(const Jid& service, const std::string& node, const Item& item) {
    Element event = event_message(service, node);
    Element& it = event.child("event", kPubsubEvent)->child("items", kPubsubEvent)->add_child("item", kPubsubEvent);
    it.set_attr("id", item.id);
    if (auto p = Element::parse(item.payload, "")) it.add_child(std::move(*p));
    return event;
  }

  static Element event_message(const Jid& service, const std::string& node) {
    Element m("message", xmppd::ns::kClient);
    m.set_attr("from", service.bare_str());
    m.set_attr("type", "headline");
    m.add_child("event", kPubsubEvent).add_child("items", kPubsubEvent).set_attr("node", node);
    return m;
  }

  // The owner's resources and the contacts the access model lets read the node, each
  // available resource of theirs that asked for the node (+notify). Remote contacts wait
  // for server-to-server links.
  void notify(const Jid& service, const std::string& node, const NodeConfig& config,
              const std::vector<xmppd::storage::RosterItem>& roster, const Element& event) {
    std::vector<Jid> readers{service.bare()};
    for (const auto& item : roster)
      if (may_read(config, false, item))
        if (auto jid = Jid::parse(item.jid); jid && jid->domain() == ctx_->host()) readers.push_back(*jid);
    for (const Jid& reader : readers)
      for (const Jid& full : ctx_->sessions_of(reader))
        if (caps_.wants(full.str(), node).value_or(false)) {
          Element copy = event;
          copy.set_attr("to", full.str());
          ctx_->send(std::move(copy));
        }
  }

  // A local resource became available, or changed its presence: learn its caps (once per
  // ver), and when known, send it the last item of every node it may read and asked for:
  // the account's own, and those of its contacts whose presence it receives (XEP-0163 §6.2).
  void on_presence(const Jid& full, const Element& presence) {
    if (presence.attr("type")) {
      caps_.forget(full.str());
      std::lock_guard lock(mutex_);
      greeted_.erase(full.str());
      return;
    }
    const Element* c = presence.child("c", xmppd::caps::kCaps);
    if (!c || c->attr_or("hash") != "sha-1" || c->attr_or("ver").empty()) return;
    std::string ver(c->attr_or("ver"));
    if (caps_.announce(full.str(), ver)) return ask_caps(full, std::string(c->attr_or("node")), ver);
    if (caps_.known(full.str())) greet(full, ver);  // its last items now
  }

  void ask_caps(const Jid& full, const std::string& node, const std::string& ver) {
    Element iq("iq", xmppd::ns::kClient);
    iq.set_attr("type", "get");
    iq.set_attr("from", ctx_->host());
    iq.set_attr("to", full.str());
    Element& q = iq.add_child("query", kInfo);
    if (!node.empty()) q.set_attr("node", node + "#" + ver);
    ctx_->send_iq(std::move(iq), [this, ver](const Element& reply) {
      const Element* query = reply.child("query", kInfo);
      std::optional<std::set<std::string>> features;
      if (reply.attr_or("type") == "result" && query && xmppd::caps::ver(*query) == ver) {
        features.emplace();
        for (const Element& f : query->nodes())
          if (f.is("feature", kInfo)) features->insert(std::string(f.attr_or("var")));
      } else {
        xmppd::log::debug("pep: caps ", ver, " not verified; asked again on the next presence");
      }
      bool verified = features.has_value();
      caps_.learned(ver, std::move(features));
      if (!verified) return;
      for (const std::string& r : caps_.announcing(ver))
        if (auto jid = Jid::parse(r)) greet(*jid, ver);
    });
  }

  // The last published item of each node the resource may read and asked for: when it
  // comes online, and again when its caps change (it may ask for more now).
  void greet(const Jid& full, const std::string& ver) {
    xmppd::log::debug("pep: ", full.str(), " has caps ", ver);
    {
      std::lock_guard lock(mutex_);
      auto [it, fresh] = greeted_.try_emplace(full.str(), ver);
      if (!fresh && it->second == ver) return;
      it->second = ver;
    }
    asio::co_spawn(strand_, send_last_items(full), asio::detached);
  }

  asio::awaitable<void> send_last_items(Jid full) {
    struct Last {
      std::string service, node;
      Item item;
    };
    auto work = [store = store_, full](xmppd::storage::Storage& s) {
      std::vector<Last> out;
      // Whose nodes this user may read: its own, and its contacts' (the contact's roster
      // decides, as the owner's would on a request).
      std::vector<std::string> services{full.bare_str()};
      for (const auto& item : s.roster().items(full.node(), full.domain()))
        if (item.subscription == Subscription::to || item.subscription == Subscription::both) services.push_back(item.jid);
      for (const std::string& service : services) {
        bool owner = service == full.bare_str();
        if (service.find('@') == std::string::npos) continue;
        std::optional<xmppd::storage::RosterItem> mine;
        if (!owner) mine = roster_item(s, service, full.bare_str());
        for (const std::string& node : store->nodes(service)) {
          auto config = store->node(service, node);
          if (!config || config->send_last != "on_sub_and_presence" || !may_read(*config, owner, mine)) continue;
          auto items = store->items(service, node, 1, {});
          if (!items.empty()) out.push_back({service, node, std::move(items.back())});
        }
      }
      return out;
    };
    std::vector<Last> last = co_await ctx_->storage().run(work);
    for (const Last& l : last) {
      if (!caps_.wants(full.str(), l.node).value_or(false)) continue;
      auto service = Jid::parse(l.service);
      if (!service) continue;
      Element event = item_event(*service, l.node, l.item);
      event.set_attr("to", full.str());
      ctx_->send(std::move(event));
    }
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  asio::any_io_executor strand_;
  std::shared_ptr<PepStore> store_;  // used on the storage thread only
  CapsBook caps_;
  std::atomic<std::int64_t> max_items_{256}, max_item_bytes_{262144}, max_nodes_{200};
  std::mutex mutex_;                            // guards greeted_
  std::map<std::string, std::string> greeted_;  // full JID → the caps its last items were sent for
};

}  // namespace

XMPPD_MODULE("pep", PepModule);

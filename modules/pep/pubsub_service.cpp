#include "pubsub_service.hpp"

#include <algorithm>
#include <random>
#include <set>
#include <span>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "storage/storage_thread.hpp"

namespace pep {
namespace {

namespace asio = boost::asio;
using xmppd::Element;
using xmppd::Jid;
using xmppd::storage::RosterItem;
using xmppd::storage::Subscription;
namespace stanza = xmppd::stanza;

constexpr const char* kItems = "http://jabber.org/protocol/disco#items";

std::string random_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (std::uint64_t n = rng(), i = 0; i < 16; ++i, n >>= 4) id += kHex[n & 15];
  return id;
}

bool personal(const std::string& service) { return service.find('@') != std::string::npos; }

// The bare JIDs whose rosters decide the presence and roster access models of a node.
std::vector<std::string> owners_of(PubsubStore& store, const std::string& service, const std::string& node) {
  if (personal(service)) return {service};
  std::vector<std::string> owners;
  for (const auto& [jid, a] : store.affiliations(service, node))
    if (a == Affiliation::owner) owners.push_back(jid);
  return owners;
}

std::optional<RosterItem> roster_item(xmppd::storage::Storage& s, const std::string& owner, const std::string& contact) {
  auto at = owner.find('@');
  if (at == std::string::npos) return std::nullopt;
  return s.roster().item(owner.substr(0, at), owner.substr(at + 1), contact);
}

const char* refusal_of(Access access) {
  switch (access) {
    case Access::presence: return "presence-subscription-required";
    case Access::roster: return "not-in-roster-group";
    default: return "closed-node";
  }
}

// The error for a reader the access model turns away (XEP-0060 §6.5.9).
Element read_refusal(const Element& iq, const NodeConfig& config, const Standing& standing) {
  if (standing.affiliation == Affiliation::outcast) return pubsub_error(iq, "forbidden");
  Access a = config.access;
  return pubsub_error(iq, a == Access::whitelist ? "not-allowed" : "not-authorized", refusal_of(a));
}

Element event_message(const Jid& service, const std::string& node, const char* what = "items") {
  Element m("message", xmppd::ns::kClient);
  m.set_attr("from", service.bare_str());
  m.set_attr("type", "headline");
  m.add_child("event", kPubsubEvent).add_child(what, kPubsubEvent).set_attr("node", node);
  return m;
}

Element& add_items(Element& list, const std::vector<Item>& items) {
  for (const Item& i : items) {
    Element& e = list.add_child("item", kPubsub);
    e.set_attr("id", i.id);
    if (auto p = Element::parse(i.payload, "")) e.add_child(std::move(*p));
  }
  return list;
}

std::string node_of(const Element* request) { return request ? std::string(request->attr_or("node")) : ""; }

}  // namespace

namespace {

bool allowed(const NodeConfig& config, Affiliation affiliation, std::span<const RosterItem> contacts) {
  if (affiliation == Affiliation::outcast) return false;
  if (affiliation != Affiliation::none) return true;  // members and up, whatever the model
  auto any = [&contacts](auto allowed) { return std::any_of(contacts.begin(), contacts.end(), allowed); };
  switch (config.access) {
    case Access::open: return true;
    case Access::presence:
      return any([](const RosterItem& i) { return i.subscription == Subscription::from || i.subscription == Subscription::both; });
    case Access::roster:
      return any([&config](const RosterItem& i) {
        if (!i.in_roster) return false;
        if (config.roster_groups.empty()) return true;
        for (const std::string& g : i.groups)
          if (std::find(config.roster_groups.begin(), config.roster_groups.end(), g) != config.roster_groups.end()) return true;
        return false;
      });
    case Access::whitelist: return false;
  }
  return false;
}

}  // namespace

bool may_read(const NodeConfig& config, const Standing& standing) {
  return allowed(config, standing.affiliation, standing.contacts);
}

Standing standing_of(xmppd::storage::Storage& s, PubsubStore& store, const std::string& service, const std::string& node,
                     const std::string& bare) {
  Standing standing;
  if (personal(service) && bare == service) {
    standing.affiliation = Affiliation::owner;
    return standing;
  }
  standing.affiliation = store.affiliation(service, node, bare);
  for (const std::string& owner : owners_of(store, service, node))
    if (auto item = roster_item(s, owner, bare)) standing.contacts.push_back(std::move(*item));
  return standing;
}

Element pubsub_error(const Element& iq, std::string_view condition, std::string_view app) {
  Element reply = stanza::error(iq, condition);
  if (!app.empty())
    if (Element* e = reply.child("error", xmppd::ns::kClient)) e->add_child(std::string(app), kPubsubErrors);
  return reply;
}

// Everything that decides who hears of a node's events, read once per event.
struct PubsubService::Readership {
  std::map<std::string, Affiliation> affiliations;  // bare JID → other than none
  std::vector<RosterItem> contacts;                 // the owners' roster items, by JID
  std::vector<std::string> owners, subscribers;

  static Readership of(xmppd::storage::Storage& s, PubsubStore& store, const std::string& service, const std::string& node) {
    Readership r;
    for (auto& [jid, a] : store.affiliations(service, node)) r.affiliations.emplace(jid, a);
    r.owners = owners_of(store, service, node);
    for (const std::string& owner : r.owners) {
      auto at = owner.find('@');
      if (at == std::string::npos) continue;
      std::vector<RosterItem> items = s.roster().items(owner.substr(0, at), owner.substr(at + 1));
      r.contacts.insert(r.contacts.end(), std::make_move_iterator(items.begin()), std::make_move_iterator(items.end()));
    }
    if (r.owners.size() > 1)  // each roster comes sorted by JID; several are merged
      std::stable_sort(r.contacts.begin(), r.contacts.end(), [](const RosterItem& a, const RosterItem& b) { return a.jid < b.jid; });
    r.subscribers = store.subscribers(service, node);
    return r;
  }

  Affiliation affiliation(const std::string& bare) const {
    if (std::find(owners.begin(), owners.end(), bare) != owners.end()) return Affiliation::owner;
    auto it = affiliations.find(bare);
    return it == affiliations.end() ? Affiliation::none : it->second;
  }

  bool may_read(const NodeConfig& config, const std::string& bare) const {
    auto [first, last] = std::equal_range(contacts.begin(), contacts.end(), bare, By{});
    return allowed(config, affiliation(bare), {first, last});
  }

  // The bare JIDs of the owners and of the contacts that may read the node.
  std::vector<std::string> readers(const NodeConfig& config) const {
    std::vector<std::string> out(owners);
    for (auto it = contacts.begin(); it != contacts.end();) {
      auto last = std::find_if(it, contacts.end(), [&it](const RosterItem& r) { return r.jid != it->jid; });
      if (allowed(config, affiliation(it->jid), {it, last})) out.push_back(it->jid);
      it = last;
    }
    return out;
  }

 private:
  struct By {  // roster items ordered by JID, compared with a JID
    bool operator()(const RosterItem& a, const std::string& b) const { return a.jid < b; }
    bool operator()(const std::string& a, const RosterItem& b) const { return a < b.jid; }
  };
};

PubsubService::PubsubService(xmppd::ModuleContext& ctx, std::shared_ptr<PubsubStore> store, NodeConfig defaults,
                             MayCreate may_create, Interested interested)
    : ctx_(ctx),
      store_(std::move(store)),
      defaults_(std::move(defaults)),
      may_create_(std::move(may_create)),
      interested_(std::move(interested)) {}

void PubsubService::read_limits(const xmppd::ModuleConfig& c, std::int64_t default_max_items,
                                std::int64_t default_max_nodes) {
  limits_.max_items.store(c.integer("max_items", default_max_items, 1, 100000));
  limits_.max_item_bytes.store(c.integer("max_item_bytes", 262144, 1024, 16 * 1024 * 1024));
  limits_.max_nodes.store(c.integer("max_nodes", default_max_nodes, 1, 10'000'000));
}

const std::vector<const char*>& PubsubService::features() {
  static const std::vector<const char*> kFeatures = {
      "http://jabber.org/protocol/pubsub",
      "http://jabber.org/protocol/pubsub#publish",
      "http://jabber.org/protocol/pubsub#publish-options",
      "http://jabber.org/protocol/pubsub#auto-create",
      "http://jabber.org/protocol/pubsub#create-nodes",
      "http://jabber.org/protocol/pubsub#instant-nodes",
      "http://jabber.org/protocol/pubsub#create-and-configure",
      "http://jabber.org/protocol/pubsub#config-node",
      "http://jabber.org/protocol/pubsub#retrieve-default",
      "http://jabber.org/protocol/pubsub#delete-nodes",
      "http://jabber.org/protocol/pubsub#purge-nodes",
      "http://jabber.org/protocol/pubsub#retrieve-items",
      "http://jabber.org/protocol/pubsub#retract-items",
      "http://jabber.org/protocol/pubsub#persistent-items",
      "http://jabber.org/protocol/pubsub#last-published",
      "http://jabber.org/protocol/pubsub#subscribe",
      "http://jabber.org/protocol/pubsub#retrieve-subscriptions",
      "http://jabber.org/protocol/pubsub#manage-subscriptions",
      "http://jabber.org/protocol/pubsub#retrieve-affiliations",
      "http://jabber.org/protocol/pubsub#modify-affiliations",
      "http://jabber.org/protocol/pubsub#member-affiliation",
      "http://jabber.org/protocol/pubsub#publisher-affiliation",
      "http://jabber.org/protocol/pubsub#outcast-affiliation",
      "http://jabber.org/protocol/pubsub#access-open",
      "http://jabber.org/protocol/pubsub#access-presence",
      "http://jabber.org/protocol/pubsub#access-roster",
      "http://jabber.org/protocol/pubsub#access-whitelist",
      "http://jabber.org/protocol/pubsub#multi-items",
      "http://jabber.org/protocol/pubsub#item-ids",
  };
  return kFeatures;
}

Element PubsubService::item_event(const Jid& service, const std::string& node, const Item& item) {
  Element event = event_message(service, node);
  Element& it = event.child("event", kPubsubEvent)->child("items", kPubsubEvent)->add_child("item", kPubsubEvent);
  it.set_attr("id", item.id);
  if (auto p = Element::parse(item.payload, "")) it.add_child(std::move(*p));
  return event;
}

// XEP-0060 §6 and §7 (entity use cases) ---------------------------------------------------

asio::awaitable<void> PubsubService::on_pubsub(Element iq, Jid service) {
  Jid from = *Jid::parse(iq.attr_or("from"));
  const Element& pubsub = *iq.first_child();
  bool set = iq.attr_or("type") == "set";
  if (set && pubsub.child("publish", kPubsub)) co_return co_await publish(iq, service, from);
  if (set && pubsub.child("retract", kPubsub)) co_return co_await retract(iq, service, from);
  if (set && pubsub.child("create", kPubsub)) co_return co_await create(iq, service, from);
  if (set && pubsub.child("subscribe", kPubsub)) co_return co_await subscribe(iq, service, from);
  if (set && pubsub.child("unsubscribe", kPubsub)) co_return co_await unsubscribe(iq, service, from);
  if (!set && pubsub.child("items", kPubsub)) co_return co_await items(iq, service, from);
  if (!set && (pubsub.child("subscriptions", kPubsub) || pubsub.child("affiliations", kPubsub)))
    co_return co_await own_memberships(iq, service, from);
  if (pubsub.child("options", kPubsub)) co_return ctx_.send(pubsub_error(iq, "feature-not-implemented", "subscription-options"));
  ctx_.send(pubsub_error(iq, pubsub.first_child() ? "feature-not-implemented" : "bad-request"));
}

// The result of a request's storage work: the error to answer with, or what to notify.
struct PubsubService::Outcome {
  const char* condition = nullptr;
  const char* app = "";
  NodeConfig config;
  Readership readers;
  std::vector<Item> items;
  bool refused_read = false;  // for reads: answer with read_refusal(standing)
  Standing standing;
};

asio::awaitable<void> PubsubService::publish(const Element& iq, const Jid& service, const Jid& from) {
  const Element& pubsub = *iq.first_child();
  const Element& request = *pubsub.child("publish", kPubsub);
  std::string node(request.attr_or("node"));
  if (node.empty()) co_return ctx_.send(pubsub_error(iq, "bad-request", "nodeid-required"));
  const Element* item = request.child("item", kPubsub);
  Item stored{item ? std::string(item->attr_or("id")) : std::string(), from.bare_str(), {}};
  const Element* payload = item ? item->first_child() : nullptr;
  std::size_t payloads = 0;
  if (item)
    for (const Element& n : item->nodes()) payloads += !n.is_text();
  if (!payload || payloads != 1)
    co_return ctx_.send(pubsub_error(iq, "bad-request", payloads ? "invalid-payload" : "item-required"));
  stored.payload = payload->str();
  if (std::int64_t(stored.payload.size()) > limits_.max_item_bytes.load())
    co_return ctx_.send(pubsub_error(iq, "not-acceptable", "payload-too-big"));
  if (stored.id.empty()) stored.id = random_id();
  const Element* options = nullptr;
  if (const Element* po = pubsub.child("publish-options", kPubsub)) options = po->child("x", kDataForms);
  std::optional<NodeConfig> requested;
  if (options) {
    requested = apply_form(*options, defaults_);
    if (!requested) co_return ctx_.send(pubsub_error(iq, "conflict", "precondition-not-met"));
  }
  bool creator = may_create_(service, from);
  std::int64_t server_max = limits_.max_items.load(), max_nodes = limits_.max_nodes.load();
  auto work = [store = store_, service = service.bare_str(), node, &stored, &options, &requested, creator, server_max,
               max_nodes, &defaults = defaults_](xmppd::storage::Storage& s) {
    Outcome out;
    std::optional<NodeConfig> config = store->node(service, node);
    if (!config) {  // XEP-0060 §7.1.4 (XEP-0163 §7: always in PEP): the first publish creates it
      if (!creator) {
        out.condition = "item-not-found";
        return out;
      }
      if (store->node_count(service) >= max_nodes) {
        out.condition = "not-allowed";
        out.app = "max-nodes-exceeded";
        return out;
      }
      config = requested.value_or(defaults);
      store->save_node(service, node, *config, server_max);
      if (!personal(service)) store->set_affiliation(service, node, stored.publisher, Affiliation::owner);
    } else {
      Standing st = standing_of(s, *store, service, node, stored.publisher);
      bool allowed = st.affiliation >= Affiliation::publisher || config->publish_model == PublishModel::open ||
                     (config->publish_model == PublishModel::subscribers && st.affiliation != Affiliation::outcast &&
                      !store->subscriptions_of(service, stored.publisher).empty());
      if (!allowed) {
        out.condition = "forbidden";
        return out;
      }
      if (options && !preconditions_hold(*options, *config)) {
        out.condition = "conflict";
        out.app = "precondition-not-met";
        return out;
      }
    }
    out.config = *config;
    std::int64_t keep = config->max_items == kMaxItems ? server_max : std::min(config->max_items, server_max);
    store->publish(service, node, stored, config->persist_items ? keep : 1);
    out.readers = Readership::of(s, *store, service, node);
    return out;
  };
  Outcome out = co_await ctx_.storage().run(work);
  if (out.condition) co_return ctx_.send(pubsub_error(iq, out.condition, out.app));
  xmppd::log::debug("pubsub: ", from.bare_str(), " published ", service.bare_str(), " ", node, " item ", stored.id);
  Element reply = stanza::iq_result(iq);
  Element& published = reply.add_child("pubsub", kPubsub).add_child("publish", kPubsub);
  published.set_attr("node", node);
  published.add_child("item", kPubsub).set_attr("id", stored.id);
  ctx_.send(std::move(reply));
  notify(node, out.config, out.readers, item_event(service, node, stored));
  if (changed_) changed_(service, node);
}

asio::awaitable<void> PubsubService::retract(const Element& iq, const Jid& service, const Jid& from) {
  const Element& request = *iq.first_child()->child("retract", kPubsub);
  std::string node(request.attr_or("node"));
  const Element* item = request.child("item", kPubsub);
  if (node.empty()) co_return ctx_.send(pubsub_error(iq, "bad-request", "nodeid-required"));
  if (!item || item->attr_or("id").empty()) co_return ctx_.send(pubsub_error(iq, "bad-request", "item-required"));
  std::string id(item->attr_or("id"));
  auto work = [store = store_, service = service.bare_str(), node, id, requester = from.bare_str()](xmppd::storage::Storage& s) {
    Outcome out;
    std::optional<NodeConfig> config = store->node(service, node);
    if (!config) {
      out.condition = "item-not-found";
      return out;
    }
    // Owners retract any item; publishers their own (XEP-0060 §7.2.3.1).
    Affiliation a = standing_of(s, *store, service, node, requester).affiliation;
    auto mine = store->items(service, node, 0, {id});
    if (a < Affiliation::publisher || (a == Affiliation::publisher && !mine.empty() && mine[0].publisher != requester)) {
      out.condition = "forbidden";
      return out;
    }
    if (!store->retract(service, node, id)) {
      out.condition = "item-not-found";
      return out;
    }
    out.config = *config;
    out.readers = Readership::of(s, *store, service, node);
    return out;
  };
  Outcome out = co_await ctx_.storage().run(work);
  if (out.condition) co_return ctx_.send(pubsub_error(iq, out.condition));
  ctx_.send(stanza::iq_result(iq));
  if (changed_) changed_(service, node);
  std::string_view notify_attr = request.attr_or("notify");
  if (notify_attr == "true" || notify_attr == "1" || out.config.notify_retract) {
    Element event = event_message(service, node);
    event.child("event", kPubsubEvent)->child("items", kPubsubEvent)->add_child("retract", kPubsubEvent).set_attr("id", id);
    notify(node, out.config, out.readers, event);
  }
}

asio::awaitable<void> PubsubService::create(const Element& iq, const Jid& service, const Jid& from) {
  const Element& pubsub = *iq.first_child();
  std::string node(pubsub.child("create", kPubsub)->attr_or("node"));
  if (!may_create_(service, from)) co_return ctx_.send(pubsub_error(iq, "forbidden"));
  bool instant = node.empty();  // §8.1.2: the service names it
  if (instant) node = random_id();
  NodeConfig config = defaults_;
  if (const Element* configure = pubsub.child("configure", kPubsub))
    if (const Element* form = configure->child("x", kDataForms)) {
      auto applied = apply_form(*form, config);
      if (!applied) co_return ctx_.send(pubsub_error(iq, "not-acceptable"));
      config = *applied;
    }
  std::int64_t server_max = limits_.max_items.load(), max_nodes = limits_.max_nodes.load();
  auto work = [store = store_, service = service.bare_str(), node, config, server_max, max_nodes,
               creator = from.bare_str()](xmppd::storage::Storage&) {
    if (store->node(service, node)) return "conflict";
    if (store->node_count(service) >= max_nodes) return "not-allowed";
    store->save_node(service, node, config, server_max);
    if (!personal(service)) store->set_affiliation(service, node, creator, Affiliation::owner);
    return "";
  };
  std::string condition = co_await ctx_.storage().run(work);
  if (!condition.empty())
    co_return ctx_.send(pubsub_error(iq, condition, condition == "not-allowed" ? "max-nodes-exceeded" : ""));
  xmppd::log::debug("pubsub: ", from.bare_str(), " created ", service.bare_str(), " ", node);
  Element reply = stanza::iq_result(iq);
  if (instant) reply.add_child("pubsub", kPubsub).add_child("create", kPubsub).set_attr("node", node);
  ctx_.send(std::move(reply));
}

asio::awaitable<void> PubsubService::items(const Element& iq, const Jid& service, const Jid& from) {
  const Element& request = *iq.first_child()->child("items", kPubsub);
  std::string node(request.attr_or("node"));
  if (node.empty()) co_return ctx_.send(pubsub_error(iq, "bad-request", "nodeid-required"));
  std::int64_t max = 0;
  if (const std::string* m = request.attr("max_items")) {
    try {
      max = std::stoll(*m);
    } catch (const std::exception&) {
      max = -1;
    }
    if (max <= 0) co_return ctx_.send(pubsub_error(iq, "bad-request"));
  }
  std::vector<std::string> ids;
  for (const Element& n : request.nodes())
    if (n.is("item", kPubsub) && n.attr("id")) ids.emplace_back(n.attr_or("id"));
  auto work = [store = store_, service = service.bare_str(), node, max, ids, requester = from.bare_str()](xmppd::storage::Storage& s) {
    Outcome out;
    std::optional<NodeConfig> config = store->node(service, node);
    if (!config) {
      out.condition = "item-not-found";
      return out;
    }
    out.config = *config;
    out.standing = standing_of(s, *store, service, node, requester);
    out.refused_read = !may_read(*config, out.standing);
    if (!out.refused_read) out.items = store->items(service, node, max, ids);
    return out;
  };
  Outcome out = co_await ctx_.storage().run(work);
  if (out.condition) co_return ctx_.send(pubsub_error(iq, out.condition));
  if (out.refused_read) co_return ctx_.send(read_refusal(iq, out.config, out.standing));
  Element reply = stanza::iq_result(iq);
  Element& list = reply.add_child("pubsub", kPubsub).add_child("items", kPubsub);
  list.set_attr("node", node);
  add_items(list, out.items);
  ctx_.send(std::move(reply));
}

// §6.1: a subscription for the requester's bare or full JID, and the last item at once
// when the node sends it on subscription.
asio::awaitable<void> PubsubService::subscribe(const Element& iq, const Jid& service, const Jid& from) {
  const Element& request = *iq.first_child()->child("subscribe", kPubsub);
  std::string node(request.attr_or("node"));
  if (node.empty()) co_return ctx_.send(pubsub_error(iq, "not-acceptable", "nodeid-required"));
  auto jid = Jid::parse(request.attr_or("jid"));
  if (!jid || jid->bare() != from.bare()) co_return ctx_.send(pubsub_error(iq, "bad-request", "invalid-jid"));
  auto work = [store = store_, service = service.bare_str(), node, subscriber = jid->str(),
               requester = from.bare_str()](xmppd::storage::Storage& s) {
    Outcome out;
    std::optional<NodeConfig> config = store->node(service, node);
    if (!config) {
      out.condition = "item-not-found";
      return out;
    }
    out.config = *config;
    out.standing = standing_of(s, *store, service, node, requester);
    out.refused_read = !may_read(*config, out.standing);
    if (out.refused_read) return out;
    store->subscribe(service, node, subscriber);
    if (config->send_last != "never") out.items = store->items(service, node, 1, {});
    return out;
  };
  Outcome out = co_await ctx_.storage().run(work);
  if (out.condition) co_return ctx_.send(pubsub_error(iq, out.condition));
  if (out.refused_read) co_return ctx_.send(read_refusal(iq, out.config, out.standing));
  xmppd::log::debug("pubsub: ", jid->str(), " subscribed to ", service.bare_str(), " ", node);
  Element reply = stanza::iq_result(iq);
  Element& subscription = reply.add_child("pubsub", kPubsub).add_child("subscription", kPubsub);
  subscription.set_attr("node", node);
  subscription.set_attr("jid", jid->str());
  subscription.set_attr("subscription", "subscribed");
  ctx_.send(std::move(reply));
  if (!out.items.empty()) {
    Element event = item_event(service, node, out.items.back());
    event.set_attr("to", jid->str());
    ctx_.send(std::move(event));
  }
}

asio::awaitable<void> PubsubService::unsubscribe(const Element& iq, const Jid& service, const Jid& from) {
  const Element& request = *iq.first_child()->child("unsubscribe", kPubsub);
  std::string node(request.attr_or("node"));
  if (node.empty()) co_return ctx_.send(pubsub_error(iq, "bad-request", "nodeid-required"));
  auto jid = Jid::parse(request.attr_or("jid"));
  if (!jid || jid->bare() != from.bare()) co_return ctx_.send(pubsub_error(iq, "forbidden"));  // §6.2.3.3
  auto work = [store = store_, service = service.bare_str(), node, subscriber = jid->str()](xmppd::storage::Storage&) {
    if (!store->node(service, node)) return "item-not-found";
    return store->unsubscribe(service, node, subscriber) ? "" : "not-subscribed";
  };
  std::string condition = co_await ctx_.storage().run(work);
  if (condition == "not-subscribed") co_return ctx_.send(pubsub_error(iq, "unexpected-request", "not-subscribed"));
  if (!condition.empty()) co_return ctx_.send(pubsub_error(iq, condition));
  ctx_.send(stanza::iq_result(iq));
}

// §5.6 and §5.7: the requester's own subscriptions or affiliations at the service.
asio::awaitable<void> PubsubService::own_memberships(const Element& iq, const Jid& service, const Jid& from) {
  const Element& pubsub = *iq.first_child();
  bool subscriptions = pubsub.child("subscriptions", kPubsub) != nullptr;
  std::string only = node_of(pubsub.child(subscriptions ? "subscriptions" : "affiliations", kPubsub));
  struct Row {
    std::string node, jid, value;
  };
  auto work = [store = store_, service = service.bare_str(), requester = from.bare_str(), subscriptions, only](xmppd::storage::Storage&) {
    std::vector<Row> rows;
    if (subscriptions) {
      for (auto& [node, jid] : store->subscriptions_of(service, requester)) rows.push_back({node, jid, "subscribed"});
    } else if (personal(service) && requester == service) {
      for (std::string& node : store->nodes(service)) rows.push_back({node, "", "owner"});
    } else {
      for (auto& [node, a] : store->affiliations_of(service, requester)) rows.push_back({node, "", std::string(name_of(a))});
    }
    std::erase_if(rows, [&only](const Row& r) { return !only.empty() && r.node != only; });
    return rows;
  };
  std::vector<Row> rows = co_await ctx_.storage().run(work);
  Element reply = stanza::iq_result(iq);
  Element& list = reply.add_child("pubsub", kPubsub).add_child(subscriptions ? "subscriptions" : "affiliations", kPubsub);
  if (!only.empty()) list.set_attr("node", only);
  for (const Row& r : rows) {
    Element& e = list.add_child(subscriptions ? "subscription" : "affiliation", kPubsub);
    e.set_attr("node", r.node);
    if (subscriptions) e.set_attr("jid", r.jid);
    e.set_attr(subscriptions ? "subscription" : "affiliation", r.value);
  }
  ctx_.send(std::move(reply));
}

// disco#items (§5.2, §5.5): the nodes the requester may read, or a readable node's items.
asio::awaitable<void> PubsubService::on_items(Element iq, Jid service) {
  Jid from = *Jid::parse(iq.attr_or("from"));
  std::string only = node_of(iq.first_child());
  struct Listing {
    bool found = true;
    std::vector<std::string> names;  // nodes, or item ids
  };
  auto work = [store = store_, service = service.bare_str(), requester = from.bare_str(), only](xmppd::storage::Storage& s) {
    Listing out;
    if (!only.empty()) {
      auto config = store->node(service, only);
      out.found = config && may_read(*config, standing_of(s, *store, service, only, requester));
      if (out.found)
        for (Item& item : store->items(service, only, 0, {})) out.names.push_back(std::move(item.id));
      return out;
    }
    for (std::string& node : store->nodes(service))
      if (auto config = store->node(service, node); config && may_read(*config, standing_of(s, *store, service, node, requester)))
        out.names.push_back(std::move(node));
    return out;
  };
  Listing listing = co_await ctx_.storage().run(work);
  if (!listing.found) co_return ctx_.send(pubsub_error(iq, "item-not-found"));
  Element reply = stanza::iq_result(iq);
  Element& query = reply.add_child("query", kItems);
  if (!only.empty()) query.set_attr("node", only);
  for (const std::string& name : listing.names) {
    Element& item = query.add_child("item", kItems);
    item.set_attr("jid", service.bare_str());
    item.set_attr(only.empty() ? "node" : "name", name);
  }
  ctx_.send(std::move(reply));
}

// XEP-0060 §8 (owner use cases) ------------------------------------------------------------

asio::awaitable<void> PubsubService::on_owner(Element iq, Jid service) {
  Jid from = *Jid::parse(iq.attr_or("from"));
  const Element& pubsub = *iq.first_child();
  const Element* request = pubsub.first_child();
  bool set = iq.attr_or("type") == "set";
  if (request && request->name() == "default" && !set) {  // §8.3: the default configuration
    Element reply = stanza::iq_result(iq);
    reply.add_child("pubsub", kPubsubOwner).add_child("default", kPubsubOwner).add_child(config_form(defaults_));
    co_return ctx_.send(std::move(reply));
  }
  std::string node = node_of(request);
  if (!request || node.empty()) co_return ctx_.send(pubsub_error(iq, "bad-request", "nodeid-required"));
  std::string what = request->name();
  if (what == "subscriptions" || what == "affiliations") co_return co_await owner_lists(iq, service, from);
  const Element* form = request->child("x", kDataForms);
  if (set && what == "configure") {  // the form is applied on top of the node's config below
    if (!form) co_return ctx_.send(pubsub_error(iq, "bad-request"));
    if (form->attr_or("type") == "cancel") co_return ctx_.send(stanza::iq_result(iq));
  } else if (!(what == "configure" && !set) && !(set && (what == "delete" || what == "purge"))) {
    co_return ctx_.send(pubsub_error(iq, "feature-not-implemented"));
  }
  std::int64_t server_max = limits_.max_items.load();
  auto work = [store = store_, service = service.bare_str(), node, what, set, form, server_max,
               requester = from.bare_str()](xmppd::storage::Storage& s) {
    Outcome out;
    std::optional<NodeConfig> config = store->node(service, node);
    if (!config) {
      out.condition = "item-not-found";
      return out;
    }
    if (standing_of(s, *store, service, node, requester).affiliation != Affiliation::owner) {
      out.condition = "forbidden";
      return out;
    }
    out.config = *config;
    if (!set) return out;
    if (what == "configure") {
      auto applied = apply_form(*form, *config);
      if (!applied) {
        out.condition = "not-acceptable";
        return out;
      }
      out.config = *applied;
      store->save_node(service, node, *applied, server_max);
      return out;
    }
    out.readers = Readership::of(s, *store, service, node);  // before a delete takes the subscribers
    if (what == "delete") store->remove_node(service, node);
    else store->purge(service, node);
    return out;
  };
  Outcome out = co_await ctx_.storage().run(work);
  if (out.condition) co_return ctx_.send(pubsub_error(iq, out.condition));
  if (!set) {
    Element reply = stanza::iq_result(iq);
    Element& configure = reply.add_child("pubsub", kPubsubOwner).add_child("configure", kPubsubOwner);
    configure.set_attr("node", node);
    configure.add_child(config_form(out.config));
    co_return ctx_.send(std::move(reply));
  }
  ctx_.send(stanza::iq_result(iq));
  if (what == "configure") co_return;
  notify(node, out.config, out.readers, event_message(service, node, what.c_str()));
  if (changed_) changed_(service, node);
}

// §8.8 and §8.9: the owner reads or changes a node's subscriptions or affiliations.
asio::awaitable<void> PubsubService::owner_lists(const Element& iq, const Jid& service, const Jid& from) {
  const Element& request = *iq.first_child()->first_child();
  std::string node(request.attr_or("node"));
  bool subscriptions = request.name() == "subscriptions";
  bool set = iq.attr_or("type") == "set";
  struct Change {
    std::string jid;
    Affiliation affiliation = Affiliation::none;
    bool subscribed = false;
  };
  std::vector<Change> changes;
  if (set)
    for (const Element& e : request.nodes()) {
      if (!e.is(subscriptions ? "subscription" : "affiliation", kPubsubOwner)) continue;
      auto jid = Jid::parse(e.attr_or("jid"));
      std::string_view value = e.attr_or(subscriptions ? "subscription" : "affiliation");
      Change change;
      if (jid) change.jid = subscriptions ? jid->str() : jid->bare_str();
      if (subscriptions) change.subscribed = value == "subscribed";
      else change.affiliation = affiliation_named(value).value_or(Affiliation::none);
      bool known = subscriptions ? (value == "subscribed" || value == "none") : affiliation_named(value).has_value();
      if (!jid || !known) co_return ctx_.send(pubsub_error(iq, "bad-request"));
      changes.push_back(std::move(change));
    }
  struct Listing {
    const char* condition = nullptr;
    std::vector<std::pair<std::string, std::string>> rows;  // jid, value
  };
  auto work = [store = store_, service = service.bare_str(), node, subscriptions, set, &changes,
               requester = from.bare_str()](xmppd::storage::Storage& s) {
    Listing out;
    if (!store->node(service, node)) {
      out.condition = "item-not-found";
      return out;
    }
    if (standing_of(s, *store, service, node, requester).affiliation != Affiliation::owner) {
      out.condition = "forbidden";
      return out;
    }
    if (set && !subscriptions) {
      // An account's own PEP nodes stay its own; elsewhere a node keeps at least one owner.
      std::set<std::string> owners;
      for (auto& [jid, a] : store->affiliations(service, node))
        if (a == Affiliation::owner) owners.insert(jid);
      for (const Change& c : changes) {
        if (personal(service) && c.jid == service) out.condition = "not-acceptable";
        if (c.affiliation == Affiliation::owner) owners.insert(c.jid);
        else owners.erase(c.jid);
      }
      if (!personal(service) && owners.empty()) out.condition = "not-acceptable";
      if (out.condition) return out;
    }
    xmppd::storage::Database::Transaction tx(s.database());
    for (const Change& c : changes) {
      if (subscriptions) {
        if (c.subscribed) store->subscribe(service, node, c.jid);
        else store->unsubscribe(service, node, c.jid);
        continue;
      }
      store->set_affiliation(service, node, c.jid, c.affiliation);
      if (c.affiliation == Affiliation::outcast)  // §8.9.2.3: an outcast's subscriptions end
        for (const std::string& jid : store->subscribers(service, node))
          if (jid == c.jid || jid.starts_with(c.jid + "/")) store->unsubscribe(service, node, jid);
    }
    tx.commit();
    if (set) return out;
    if (subscriptions) {
      for (std::string& jid : store->subscribers(service, node)) out.rows.emplace_back(std::move(jid), "subscribed");
    } else {
      if (personal(service)) out.rows.emplace_back(service, "owner");
      for (auto& [jid, a] : store->affiliations(service, node)) out.rows.emplace_back(jid, std::string(name_of(a)));
    }
    return out;
  };
  Listing listing = co_await ctx_.storage().run(work);
  if (listing.condition) co_return ctx_.send(pubsub_error(iq, listing.condition));
  Element reply = stanza::iq_result(iq);
  if (!set) {
    Element& list = reply.add_child("pubsub", kPubsubOwner).add_child(request.name(), kPubsubOwner);
    list.set_attr("node", node);
    for (const auto& [jid, value] : listing.rows) {
      Element& e = list.add_child(subscriptions ? "subscription" : "affiliation", kPubsubOwner);
      e.set_attr("jid", jid);
      e.set_attr(subscriptions ? "subscription" : "affiliation", value);
    }
  }
  ctx_.send(std::move(reply));
}

asio::awaitable<void> PubsubService::replace_items(Jid service, std::string node, std::vector<Item> items,
                                                   NodeConfig if_new) {
  struct Change {
    NodeConfig config;
    Readership readers;
    std::vector<Item> published;
    std::vector<std::string> retracted;
  };
  std::int64_t server_max = limits_.max_items.load();
  auto work = [store = store_, service = service.bare_str(), &node, &items, &if_new, server_max](xmppd::storage::Storage& s) {
    Change change;
    std::optional<NodeConfig> config = store->node(service, node);
    if (!config) store->save_node(service, node, if_new, server_max);
    change.config = config.value_or(if_new);
    std::map<std::string, std::string> before;  // id → payload
    for (Item& i : store->items(service, node, 0, {})) before.emplace(std::move(i.id), std::move(i.payload));
    std::int64_t keep = change.config.max_items == kMaxItems ? server_max : std::min(change.config.max_items, server_max);
    for (const Item& i : items) {
      auto was = before.find(i.id);
      bool same = was != before.end() && was->second == i.payload;
      if (was != before.end()) before.erase(was);
      if (same) continue;
      store->publish(service, node, i, change.config.persist_items ? keep : 1);
      change.published.push_back(i);
    }
    for (const auto& [id, payload] : before)
      if (store->retract(service, node, id)) change.retracted.push_back(id);
    change.readers = Readership::of(s, *store, service, node);
    return change;
  };
  Change change = co_await ctx_.storage().run(work);
  for (const Item& i : change.published) notify(node, change.config, change.readers, item_event(service, node, i));
  if (!change.config.notify_retract) co_return;
  for (const std::string& id : change.retracted) {
    Element event = event_message(service, node);
    event.child("event", kPubsubEvent)->child("items", kPubsubEvent)->add_child("retract", kPubsubEvent).set_attr("id", id);
    notify(node, change.config, change.readers, event);
  }
}

// Notifications -----------------------------------------------------------------------------

void PubsubService::notify(const std::string& node, const NodeConfig& config, const Readership& readers,
                           const Element& event) {
  std::vector<Jid> interested;
  if (interested_) {
    interested = interested_(node, readers.readers(config));
    ctx_.send_to_many(event, interested);  // serialized once
  }
  if (readers.subscribers.empty()) return;
  std::set<std::string> reached;  // full JIDs, and bare JIDs whose every resource was
  for (const Jid& full : interested) reached.insert(full.str());
  for (const std::string& subscriber : readers.subscribers) {
    auto jid = Jid::parse(subscriber);
    if (!jid || !readers.may_read(config, jid->bare_str())) continue;
    // A bare subscription reaches every resource: skip it when one was reached already.
    bool seen = reached.contains(subscriber);
    if (!seen && jid->is_bare()) {
      std::string resources = subscriber + "/";
      auto first = reached.lower_bound(resources);
      seen = first != reached.end() && first->starts_with(resources);
    }
    if (seen) continue;
    reached.insert(subscriber);
    Element copy = event;
    copy.set_attr("to", subscriber);
    ctx_.send(std::move(copy));
  }
}

}  // namespace pep

// XEP-0060 Publish-Subscribe, the protocol, for every kind of service on a host: PEP on
// each account's bare JID (XEP-0163, modules/pep) and the standalone service at
// pubsub.<host> (modules/pubsub). A service whose JID is an account's is personal: the
// account owns every node there and its roster decides the presence and roster access
// models. Elsewhere a node has the owners its affiliations name (its creator first), and
// their rosters decide. Events go to the node's subscribers, and to whomever the module
// adds (PEP: resources whose entity capabilities ask for the node).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>
#include <xmppd/module.hpp>

#include "node_config.hpp"
#include "pubsub_store.hpp"
#include "storage/roster_store.hpp"

namespace xmppd::storage {
class Storage;
}

namespace pep {

// What decides whether one entity may read a node: its affiliation, and the items the
// node's owners have for it in their rosters.
struct Standing {
  Affiliation affiliation = Affiliation::none;
  std::vector<xmppd::storage::RosterItem> contacts;
};
bool may_read(const NodeConfig& config, const Standing& standing);
// An entity's standing at a node (storage thread).
Standing standing_of(xmppd::storage::Storage& s, PubsubStore& store, const std::string& service,
                     const std::string& node, const std::string& bare);

// An error reply with a pubsub#errors condition too (XEP-0060 §7 and §6).
xmppd::Element pubsub_error(const xmppd::Element& iq, std::string_view condition, std::string_view app = {});

class PubsubService {
 public:
  // Whether `requester` may create nodes at `service` (on first publish too).
  using MayCreate = std::function<bool(const xmppd::Jid& service, const xmppd::Jid& requester)>;
  // Full JIDs an event of `node` goes to besides its subscribers, chosen from the bare JIDs
  // that may read it.
  using Interested = std::function<std::vector<xmppd::Jid>(const std::string& node,
                                                           const std::vector<std::string>& readers)>;

  // `defaults`: the configuration of a new node, before the creator's form.
  PubsubService(xmppd::ModuleContext& ctx, std::shared_ptr<PubsubStore> store, NodeConfig defaults,
                MayCreate may_create, Interested interested = {});

  // Called after a request changed a node's items (publish, retract, purge, delete), on
  // the thread that ran it. Not called for replace_items().
  using Changed = std::function<void(const xmppd::Jid& service, const std::string& node)>;
  void on_changed(Changed changed) { changed_ = std::move(changed); }

  // Reads the limits from the module's settings (max_items, max_item_bytes, max_nodes).
  void read_limits(const xmppd::ModuleConfig& c, std::int64_t default_max_items, std::int64_t default_max_nodes);
  PubsubStore& store() { return *store_; }  // storage thread only
  // The features of XEP-0060 the engine implements, for disco#info.
  static const std::vector<const char*>& features();

  // IQs addressed to `service` ('from' stamped and valid); each gets its answer. Run them
  // one at a time per module, so a publish and a read after it never cross.
  boost::asio::awaitable<void> on_pubsub(xmppd::Element iq, xmppd::Jid service);  // pubsub
  boost::asio::awaitable<void> on_owner(xmppd::Element iq, xmppd::Jid service);   // pubsub#owner
  // disco#items: the nodes the requester may read, or one node's items.
  boost::asio::awaitable<void> on_items(xmppd::Element iq, xmppd::Jid service);

  // The server itself makes the node hold exactly `items` (creating it with `if_new`), as
  // its owner would by publishing and retracting: what changed is notified.
  boost::asio::awaitable<void> replace_items(xmppd::Jid service, std::string node, std::vector<Item> items,
                                             NodeConfig if_new);

  // A notification of one item, from the service, without 'to'.
  static xmppd::Element item_event(const xmppd::Jid& service, const std::string& node, const Item& item);

 private:
  struct Readership;
  struct Outcome;

  boost::asio::awaitable<void> publish(const xmppd::Element& iq, const xmppd::Jid& service, const xmppd::Jid& from);
  boost::asio::awaitable<void> retract(const xmppd::Element& iq, const xmppd::Jid& service, const xmppd::Jid& from);
  boost::asio::awaitable<void> create(const xmppd::Element& iq, const xmppd::Jid& service, const xmppd::Jid& from);
  boost::asio::awaitable<void> items(const xmppd::Element& iq, const xmppd::Jid& service, const xmppd::Jid& from);
  boost::asio::awaitable<void> subscribe(const xmppd::Element& iq, const xmppd::Jid& service, const xmppd::Jid& from);
  boost::asio::awaitable<void> unsubscribe(const xmppd::Element& iq, const xmppd::Jid& service,
                                           const xmppd::Jid& from);
  boost::asio::awaitable<void> own_memberships(const xmppd::Element& iq, const xmppd::Jid& service,
                                               const xmppd::Jid& from);
  boost::asio::awaitable<void> owner_lists(const xmppd::Element& iq, const xmppd::Jid& service,
                                           const xmppd::Jid& from);

  // Sends `event` to the node's subscribers and the interested that may read it.
  void notify(const std::string& node, const NodeConfig& config,
              const Readership& readers, const xmppd::Element& event);

  xmppd::ModuleContext& ctx_;
  std::shared_ptr<PubsubStore> store_;  // used on the storage thread only
  const NodeConfig defaults_;
  MayCreate may_create_;
  Interested interested_;
  Changed changed_;
  struct Limits {  // atomics: a reload changes them while requests run
    std::atomic<std::int64_t> max_items{256}, max_item_bytes{262144}, max_nodes{200};
  } limits_;
};

}  // namespace pep

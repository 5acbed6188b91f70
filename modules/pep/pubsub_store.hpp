// PubSub nodes, their items, subscriptions and affiliations, per service (an account's bare
// JID for PEP, a domain for a standalone service). Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node_config.hpp"
#include "storage/database.hpp"

namespace pep {

// XEP-0060 §4.1, in order of privilege.
enum class Affiliation { outcast, none, member, publisher, owner };
std::string_view name_of(Affiliation a);
std::optional<Affiliation> affiliation_named(std::string_view name);

struct Item {
  std::string id;
  std::string publisher;  // bare JID
  std::string payload;    // the item's child, serialized
};

class PubsubStore {
 public:
  explicit PubsubStore(xmppd::storage::Database& db);

  std::optional<NodeConfig> node(const std::string& service, const std::string& node);
  std::vector<std::string> nodes(const std::string& service);
  // Creates or reconfigures the node; a smaller max_items drops the oldest items.
  void save_node(const std::string& service, const std::string& node, const NodeConfig& config,
                 std::int64_t server_max_items);
  void remove_node(const std::string& service, const std::string& node);
  void purge(const std::string& service, const std::string& node);
  // Stores the item as the node's newest (replacing one of the same id), keeping at most
  // the node's max_items (`server_max_items` for "max").
  void publish(const std::string& service, const std::string& node, const Item& item, std::int64_t max_items);
  // The newest `max` items (all for 0), oldest first; or just those of `ids`.
  std::vector<Item> items(const std::string& service, const std::string& node, std::int64_t max,
                          const std::vector<std::string>& ids);
  bool retract(const std::string& service, const std::string& node, const std::string& item_id);
  // Each node of `service` that has items, with its configuration and newest item, in one
  // query (what a resource coming online may be sent).
  struct LastItem {
    std::string node;
    NodeConfig config;
    Item item;
  };
  std::vector<LastItem> last_items(const std::string& service);
  std::int64_t node_count(const std::string& service);

  // Subscriptions: one per JID (bare or full) and node, so no subid is needed (§6.1.6).
  void subscribe(const std::string& service, const std::string& node, const std::string& jid);
  bool unsubscribe(const std::string& service, const std::string& node, const std::string& jid);
  std::vector<std::string> subscribers(const std::string& service, const std::string& node);
  // The nodes of `service` that `jid` (or, for a bare JID, any of its resources) subscribes
  // to: (node, subscribed JID) pairs.
  std::vector<std::pair<std::string, std::string>> subscriptions_of(const std::string& service,
                                                                    const std::string& jid);

  // Affiliations other than none, by bare JID.
  Affiliation affiliation(const std::string& service, const std::string& node, const std::string& jid);
  void set_affiliation(const std::string& service, const std::string& node, const std::string& jid,
                       Affiliation affiliation);
  std::vector<std::pair<std::string, Affiliation>> affiliations(const std::string& service, const std::string& node);
  // (node, affiliation) pairs of one JID at `service`.
  std::vector<std::pair<std::string, Affiliation>> affiliations_of(const std::string& service, const std::string& jid);

 private:
  xmppd::storage::Database& db_;
};

}  // namespace pep

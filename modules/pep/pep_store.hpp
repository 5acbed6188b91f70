// PubSub nodes and their items, per service (an account's bare JID for PEP): the
// pubsub_nodes and pubsub_items tables. Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node_config.hpp"
#include "storage/database.hpp"

namespace pep {

struct Item {
  std::string id;
  std::string publisher;  // bare JID
  std::string payload;    // the item's child, serialized
};

class PepStore {
 public:
  explicit PepStore(xmppd::storage::Database& db);

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
  std::int64_t node_count(const std::string& service);

 private:
  xmppd::storage::Database& db_;
};

}  // namespace pep

// A PubSub node's configuration (XEP-0060 §16.4 pubsub#node_config): who may read and
// publish, how many items it keeps, and what is sent when. Read from and written as data
// forms: the node configuration and publish-options (§7.1.5).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xmppd/element.hpp>

namespace pep {

inline constexpr const char* kPubsub = "http://jabber.org/protocol/pubsub";
inline constexpr const char* kPubsubOwner = "http://jabber.org/protocol/pubsub#owner";
inline constexpr const char* kPubsubEvent = "http://jabber.org/protocol/pubsub#event";
inline constexpr const char* kPubsubErrors = "http://jabber.org/protocol/pubsub#errors";
inline constexpr const char* kNodeConfig = "http://jabber.org/protocol/pubsub#node_config";
inline constexpr const char* kPublishOptions = "http://jabber.org/protocol/pubsub#publish-options";
inline constexpr const char* kDataForms = "jabber:x:data";

enum class Access { open, presence, roster, whitelist };
enum class PublishModel { publishers, subscribers, open };

struct NodeConfig {
  Access access = Access::presence;  // XEP-0163 §6: PEP nodes default to presence
  std::int64_t max_items = 1;         // kMaxItems for "max": the server's limit
  bool persist_items = true;
  bool notify_retract = true;
  std::string send_last = "on_sub_and_presence";  // never, on_sub, on_sub_and_presence
  PublishModel publish_model = PublishModel::publishers;
  std::vector<std::string> roster_groups;  // for Access::roster: the owner's groups allowed (none: any)
  std::string title;

  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

inline constexpr std::int64_t kMaxItems = -1;  // "max": as many as the server allows

// Applies a submitted form (FORM_TYPE node_config or publish-options) on top of `base`;
// nullopt if a field has a value the node cannot take. Unknown fields are ignored, as
// XEP-0004 says of forms.
std::optional<NodeConfig> apply_form(const xmppd::Element& form, NodeConfig base);
// Whether every field the publish-options form names has that value in `config` (§7.1.5).
bool preconditions_hold(const xmppd::Element& form, const NodeConfig& config);
xmppd::Element config_form(const NodeConfig& config);  // type='form', for the owner

std::string serialize(const NodeConfig& config);
NodeConfig deserialize(std::string_view text);

}  // namespace pep

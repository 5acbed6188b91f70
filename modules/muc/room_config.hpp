// A room's configuration and its XEP-0004 form, muc#roomconfig (XEP-0045 §10.2, §15.5.3).
// The same form, submitted, is how the configuration is stored.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <xmppd/element.hpp>

namespace muc {

inline constexpr const char* kDataForms = "jabber:x:data";
inline constexpr const char* kRoomConfigFormType = "http://jabber.org/protocol/muc#roomconfig";

struct RoomConfig {
  std::string name;
  std::string description;
  bool persistent = false;
  bool public_room = true;        // listed in disco#items (otherwise hidden)
  bool members_only = false;
  bool moderated = false;         // only participants (not visitors) may speak
  bool password_protected = false;
  std::string password;
  bool non_anonymous = false;     // whois=anyone: every occupant sees real JIDs
  std::int64_t max_occupants = 0;
  bool occupants_change_subject = false;
  bool occupants_invite = false;  // in members-only rooms, not only admins may invite
  bool enable_logging = true;     // a persistent room keeps an archive (XEP-0313 at its JID)
  // Occupants of these roles may read the member list besides admins and owners (§9.5,
  // muc#roomconfig_getmemberlist): "moderator", "participant", "visitor".
  std::set<std::string> member_list_roles{"moderator"};

  friend bool operator==(const RoomConfig&, const RoomConfig&) = default;
};

// <x xmlns='jabber:x:data' type='form'/> with the current values; `service_max` bounds
// the maximum number of occupants an owner may choose.
xmppd::Element config_form(const RoomConfig& config, std::int64_t service_max);

// <x type='submit'/> with every value: what is stored.
xmppd::Element config_submission(const RoomConfig& config);

// Applies a submitted form on top of `config`; fields not in the form keep their value,
// unknown fields are ignored. nullopt if a value is invalid (the owner gets not-acceptable).
std::optional<RoomConfig> apply_config_form(const xmppd::Element& form, RoomConfig config,
                                             std::int64_t service_max);

}  // namespace muc

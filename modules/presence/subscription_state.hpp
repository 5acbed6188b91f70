// The RFC 6121 §3 subscription state machine as pure functions: what a subscription
// presence stanza does to one side's record of a relationship, and what the server must
// do about it. No I/O here, so every transition is unit-testable.
#pragma once

#include <optional>
#include <string_view>

#include "storage/roster_store.hpp"

namespace xmppd::presence {

using storage::Subscription;

enum class SubscriptionType { subscribe, subscribed, unsubscribe, unsubscribed };

// "subscribe", ... → the type; anything else (available, unavailable, probe, error) → nullopt.
std::optional<SubscriptionType> subscription_type(std::string_view presence_type);
const char* to_string(SubscriptionType type);

// One user's view of one contact (RFC 6121 Appendix A states, plus pre-approval).
struct ContactState {
  Subscription subscription = Subscription::none;
  bool ask = false;         // Pending Out
  bool pending_in = false;  // Pending In
  bool approved = false;    // pre-approved (§3.4)
  bool in_roster = false;   // a roster item exists (a pending request alone is not one)
  friend bool operator==(const ContactState&, const ContactState&) = default;
};

bool has_to(Subscription s);    // the user receives the contact's presence
bool has_from(Subscription s);  // the contact receives the user's presence

// What the server answers on the user's behalf without bothering the user.
enum class AutoReply { none, subscribed, unsubscribed };

struct Outcome {
  ContactState next;
  // Outbound: route the stanza to the contact. Inbound: deliver it to the user.
  bool forward = false;
  AutoReply reply = AutoReply::none;  // inbound only
  // The contact just became subscribed to the user: send the user's current presence.
  bool send_presence = false;
  // The contact just lost its subscription to the user: send unavailable presence.
  bool send_unavailable = false;
};

// Whether the change needs a roster push (the user can see it on the roster).
bool roster_visible_change(const ContactState& before, const ContactState& after);

// The user sent `type` to the contact (RFC 6121 §3.1.2, §3.1.5, §3.2.2, §3.3.2, §3.4).
Outcome outbound(const ContactState& state, SubscriptionType type);
// The contact sent `type` to the user (§3.1.3, §3.1.6, §3.2.3, §3.3.3).
Outcome inbound(const ContactState& state, SubscriptionType type);

}  // namespace xmppd::presence

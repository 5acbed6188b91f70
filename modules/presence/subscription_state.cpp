#include "subscription_state.hpp"

namespace xmppd::presence {
namespace {

Subscription with_to(Subscription s) { return has_from(s) ? Subscription::both : Subscription::to; }
Subscription with_from(Subscription s) { return has_to(s) ? Subscription::both : Subscription::from; }
Subscription without_to(Subscription s) { return has_from(s) ? Subscription::from : Subscription::none; }
Subscription without_from(Subscription s) { return has_to(s) ? Subscription::to : Subscription::none; }

}  // namespace

std::optional<SubscriptionType> subscription_type(std::string_view presence_type) {
  if (presence_type == "subscribe") return SubscriptionType::subscribe;
  if (presence_type == "subscribed") return SubscriptionType::subscribed;
  if (presence_type == "unsubscribe") return SubscriptionType::unsubscribe;
  if (presence_type == "unsubscribed") return SubscriptionType::unsubscribed;
  return std::nullopt;
}

const char* to_string(SubscriptionType type) {
  switch (type) {
    case SubscriptionType::subscribe: return "subscribe";
    case SubscriptionType::subscribed: return "subscribed";
    case SubscriptionType::unsubscribe: return "unsubscribe";
    case SubscriptionType::unsubscribed: break;
  }
  return "unsubscribed";
}

bool has_to(Subscription s) { return s == Subscription::to || s == Subscription::both; }
bool has_from(Subscription s) { return s == Subscription::from || s == Subscription::both; }

bool roster_visible_change(const ContactState& before, const ContactState& after) {
  if (!before.in_roster && !after.in_roster) return false;
  return before.in_roster != after.in_roster || before.subscription != after.subscription ||
         before.ask != after.ask || before.approved != after.approved;
}

Outcome outbound(const ContactState& state, SubscriptionType type) {
  Outcome out{state};
  ContactState& next = out.next;
  switch (type) {
    case SubscriptionType::subscribe:
      // Routed even when already subscribed: the contact's server answers "subscribed".
      out.forward = true;
      if (!has_to(state.subscription)) {
        next.ask = true;
        next.in_roster = true;
      }
      break;
    case SubscriptionType::subscribed:
      if (has_from(state.subscription)) break;  // nothing to approve: not routed
      if (state.pending_in) {
        next.subscription = with_from(state.subscription);
        next.pending_in = false;
        next.approved = false;
        next.in_roster = true;
        out.forward = true;
        out.send_presence = true;
      } else {
        // §3.4: approving before being asked; remembered, not routed.
        next.approved = true;
        next.in_roster = true;
      }
      break;
    case SubscriptionType::unsubscribe:
      out.forward = true;
      next.subscription = without_to(state.subscription);
      next.ask = false;
      break;
    case SubscriptionType::unsubscribed:
      // Cancels a subscription, denies a pending request or withdraws a pre-approval.
      out.forward = true;
      out.send_unavailable = has_from(state.subscription);
      next.subscription = without_from(state.subscription);
      next.pending_in = false;
      next.approved = false;
      break;
  }
  return out;
}

Outcome inbound(const ContactState& state, SubscriptionType type) {
  Outcome out{state};
  ContactState& next = out.next;
  switch (type) {
    case SubscriptionType::subscribe:
      if (has_from(state.subscription)) {
        out.reply = AutoReply::subscribed;  // already subscribed: the user need not know
      } else if (state.approved) {
        next.subscription = with_from(state.subscription);
        next.approved = false;
        out.reply = AutoReply::subscribed;
        out.send_presence = true;
      } else {
        next.pending_in = true;
        out.forward = true;
      }
      break;
    case SubscriptionType::subscribed:
      // Only an answer to our own request counts; anything else is ignored (§3.1.6).
      if (state.ask) {
        next.subscription = with_to(state.subscription);
        next.ask = false;
        out.forward = true;
      }
      break;
    case SubscriptionType::unsubscribe:
      if (has_from(state.subscription) || state.pending_in) {
        out.send_unavailable = has_from(state.subscription);
        next.subscription = without_from(state.subscription);
        next.pending_in = false;
        out.forward = true;
      }
      break;
    case SubscriptionType::unsubscribed:
      if (has_to(state.subscription) || state.ask) {
        next.subscription = without_to(state.subscription);
        next.ask = false;
        out.forward = true;
      }
      break;
  }
  return out;
}

}  // namespace xmppd::presence

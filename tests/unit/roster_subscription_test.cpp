// The RFC 6121 §3 subscription state machine (modules/presence/subscription_state.cpp).
#include <gtest/gtest.h>

#include "subscription_state.hpp"

namespace xmppd::presence {
namespace {

using Sub = storage::Subscription;
using Type = SubscriptionType;

ContactState state(Sub s, bool ask = false, bool pending_in = false, bool approved = false, bool in_roster = true) {
  return {s, ask, pending_in, approved, in_roster};
}

TEST(SubscriptionState, ParsesOnlySubscriptionTypes) {
  EXPECT_EQ(subscription_type("subscribe"), Type::subscribe);
  EXPECT_EQ(subscription_type("unsubscribed"), Type::unsubscribed);
  EXPECT_FALSE(subscription_type(""));
  EXPECT_FALSE(subscription_type("probe"));
  EXPECT_FALSE(subscription_type("unavailable"));
}

TEST(SubscriptionState, OutboundSubscribeAddsPendingOutItem) {
  Outcome o = outbound(ContactState{}, Type::subscribe);
  EXPECT_EQ(o.next, state(Sub::none, true));
  EXPECT_TRUE(o.forward);
  EXPECT_TRUE(roster_visible_change(ContactState{}, o.next));
}

TEST(SubscriptionState, OutboundSubscribeWhenSubscribedChangesNothing) {
  Outcome o = outbound(state(Sub::both), Type::subscribe);
  EXPECT_EQ(o.next, state(Sub::both));
  EXPECT_TRUE(o.forward);  // the contact's server answers it
}

TEST(SubscriptionState, InboundSubscribeBecomesPendingIn) {
  Outcome o = inbound(ContactState{}, Type::subscribe);
  EXPECT_EQ(o.next, state(Sub::none, false, true, false, false));
  EXPECT_TRUE(o.forward);
  EXPECT_FALSE(roster_visible_change(ContactState{}, o.next));  // not a roster item yet
}

TEST(SubscriptionState, InboundSubscribeFromSubscriberIsAnsweredByServer) {
  Outcome o = inbound(state(Sub::from), Type::subscribe);
  EXPECT_EQ(o.reply, AutoReply::subscribed);
  EXPECT_FALSE(o.forward);
  EXPECT_EQ(o.next, state(Sub::from));
}

TEST(SubscriptionState, ApprovalGrantsFromAndSendsPresence) {
  Outcome o = outbound(state(Sub::none, false, true, false, false), Type::subscribed);
  EXPECT_EQ(o.next, state(Sub::from));
  EXPECT_TRUE(o.forward);
  EXPECT_TRUE(o.send_presence);
  o = outbound(state(Sub::to, false, true), Type::subscribed);
  EXPECT_EQ(o.next.subscription, Sub::both);
}

TEST(SubscriptionState, ApprovalWithoutRequestIsPreApproval) {
  Outcome o = outbound(ContactState{}, Type::subscribed);
  EXPECT_EQ(o.next, state(Sub::none, false, false, true));
  EXPECT_FALSE(o.forward);
  // The later request is accepted by the server.
  Outcome later = inbound(o.next, Type::subscribe);
  EXPECT_EQ(later.next, state(Sub::from));
  EXPECT_EQ(later.reply, AutoReply::subscribed);
  EXPECT_TRUE(later.send_presence);
  EXPECT_FALSE(later.forward);
}

TEST(SubscriptionState, InboundSubscribedCountsOnlyAsAnswer) {
  Outcome o = inbound(state(Sub::none, true), Type::subscribed);
  EXPECT_EQ(o.next, state(Sub::to));
  EXPECT_TRUE(o.forward);
  o = inbound(state(Sub::from, true), Type::subscribed);
  EXPECT_EQ(o.next.subscription, Sub::both);
  o = inbound(state(Sub::none), Type::subscribed);  // unsolicited
  EXPECT_EQ(o.next, state(Sub::none));
  EXPECT_FALSE(o.forward);
}

TEST(SubscriptionState, UnsubscribeEndsToOnBothSides) {
  Outcome mine = outbound(state(Sub::both), Type::unsubscribe);
  EXPECT_EQ(mine.next, state(Sub::from));
  Outcome theirs = inbound(state(Sub::both), Type::unsubscribe);
  EXPECT_EQ(theirs.next, state(Sub::to));
  EXPECT_TRUE(theirs.send_unavailable);
  EXPECT_FALSE(inbound(state(Sub::to), Type::unsubscribe).forward);  // nothing to cancel
}

TEST(SubscriptionState, UnsubscribedCancelsDeniesOrWithdraws) {
  Outcome cancel = outbound(state(Sub::both), Type::unsubscribed);
  EXPECT_EQ(cancel.next, state(Sub::to));
  EXPECT_TRUE(cancel.send_unavailable);
  Outcome deny = outbound(state(Sub::none, false, true, false, false), Type::unsubscribed);
  EXPECT_FALSE(deny.next.pending_in);
  EXPECT_FALSE(deny.send_unavailable);
  Outcome withdraw = outbound(state(Sub::none, false, false, true), Type::unsubscribed);
  EXPECT_FALSE(withdraw.next.approved);
  Outcome denied = inbound(state(Sub::none, true), Type::unsubscribed);
  EXPECT_EQ(denied.next, state(Sub::none));
  EXPECT_TRUE(denied.forward);
  EXPECT_FALSE(inbound(state(Sub::from), Type::unsubscribed).forward);
}

}  // namespace
}  // namespace xmppd::presence

"""Presence subscriptions and presence broadcast (RFC 6121 §3-4) through slixmpp against
the real xmppd.

Run with Debian's interpreter, which has slixmpp:
    /usr/bin/python3 -m unittest -v test_presence      (from tests/interop/)
"""

import asyncio
import subprocess
import unittest

import harness
from harness import TIMEOUT

from test_roster import ALICE, BOB, CAROL, ImTestCase


class SubscriptionTestCase(ImTestCase):

    async def subscribe(self, user, contact):
        """`user` subscribes to `contact`'s presence and `contact` approves; both rosters
        must be pushed with the states the other side agrees on. Returns the states."""
        user_bare, contact_bare = user.boundjid.bare, contact.boundjid.bare
        user.send_presence(pto=contact_bare, ptype="subscribe")
        item, _ = await user.next_push(contact_bare)
        self.assertEqual(item["ask"], "subscribe", item)
        request = await contact.expect_presence("subscribe", user_bare)
        self.assertEqual(request["to"].bare, contact_bare)

        contact.send_presence(pto=user_bare, ptype="subscribed")
        contact_view, _ = await contact.next_push(user_bare)
        await user.expect_presence("subscribed", contact_bare)
        user_view, _ = await user.next_push(contact_bare)
        self.assertEqual(user_view["ask"], "", user_view)
        # §3.1.5: the new subscriber gets the contact's current presence.
        await user.expect_presence("available", contact.boundjid.full)
        return user_view["subscription"], contact_view["subscription"]


class Subscriptions(SubscriptionTestCase):
    """none → to/from → both, removal, requests to offline users, pre-approval."""

    async def test_mutual_subscription(self):
        alice = await self.login(ALICE, "phone")
        bob = await self.login(BOB, "laptop")
        self.assertEqual(await self.subscribe(alice, bob), ("to", "from"))
        self.assertEqual(await self.subscribe(bob, alice), ("both", "both"))
        self.assertEqual((await alice.roster_items())["bob@localhost"]["subscription"], "both")
        self.assertEqual((await bob.roster_items())["alice@localhost"]["subscription"], "both")

    async def test_a_probe_for_a_deleted_account_is_answered_unsubscribed(self):
        alice = await self.login(ALICE, "phone")
        bob = await self.login(BOB, "laptop")
        await self.subscribe(alice, bob)
        # Bob's account is deleted: a probe for it (here from Alice's client, as XEP-0318
        # clients send; her server sends one at each login) gets "unsubscribed" (RFC 6121
        # §4.3.2), and her server drops the subscription that has nobody behind it.
        await self.close(bob)
        deleted = subprocess.run([harness.xmppctl_binary(), "--config", self.server.config_path, "deluser",
                                  "bob@localhost"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        alice.send_presence(pto="bob@localhost", ptype="probe")
        await alice.expect_presence("unsubscribed", "bob@localhost")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual(item["subscription"], "none", item)

    async def test_removal_cancels_both_ways(self):
        alice = await self.login(ALICE, "phone")
        bob = await self.login(BOB, "laptop")
        await self.subscribe(alice, bob)
        await self.subscribe(bob, alice)

        await alice.roster_set("jid='bob@localhost' subscription='remove'/>")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual(item["subscription"], "remove")
        await bob.expect_presence("unsubscribe", "alice@localhost")
        await bob.expect_presence("unsubscribed", "alice@localhost")
        # RFC 6121 §3.2.2: Bob no longer gets Alice's presence, and sees her go offline.
        await bob.expect_presence("unavailable", "alice@localhost/phone")
        # Bob keeps the item, with nothing left of either subscription.
        states = [(await bob.next_push("alice@localhost"))[0]["subscription"] for _ in range(2)]
        self.assertEqual(states[-1], "none", states)
        self.assertEqual((await bob.roster_items())["alice@localhost"]["subscription"], "none")
        self.assertEqual(await alice.roster_items(), {})

    async def test_request_to_offline_user_is_delivered_at_login(self):
        alice = await self.login(ALICE, "phone")
        alice.send_presence(pto="bob@localhost", ptype="subscribe", pstatus="It's Alice")
        await alice.next_push("bob@localhost")

        bob = await self.login(BOB, "laptop")
        request = await bob.expect_presence("subscribe", "alice@localhost")
        self.assertEqual(request["status"], "It's Alice")
        # A pending request is not a roster item (RFC 6121 §3.1.3).
        self.assertEqual(await bob.roster_items(), {})
        bob.send_presence(pto="alice@localhost", ptype="subscribed")
        item, _ = await bob.next_push("alice@localhost")
        self.assertEqual(item["subscription"], "from")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual((item["subscription"], item["ask"]), ("to", ""))

    async def test_denied_request(self):
        alice = await self.login(ALICE, "phone")
        bob = await self.login(BOB, "laptop")
        alice.send_presence(pto="bob@localhost", ptype="subscribe")
        await alice.next_push("bob@localhost")
        await bob.expect_presence("subscribe", "alice@localhost")
        bob.send_presence(pto="alice@localhost", ptype="unsubscribed")
        await alice.expect_presence("unsubscribed", "bob@localhost")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual((item["subscription"], item["ask"]), ("none", ""))

    async def test_pre_approval(self):
        alice = await self.login(ALICE, "phone")
        self.assertIn("preapproval", alice.features)
        bob = await self.login(BOB, "laptop")
        alice.send_presence(pto="bob@localhost", ptype="subscribed")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual((item["subscription"], item["approved"]), ("none", "true"))

        bob.send_presence(pto="alice@localhost", ptype="subscribe")
        await bob.next_push("alice@localhost")
        await bob.expect_presence("subscribed", "alice@localhost")  # answered by the server
        item, _ = await bob.next_push("alice@localhost")
        self.assertEqual(item["subscription"], "to")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual(item["subscription"], "from")
        await bob.expect_presence("available", alice.boundjid.full)
        await alice.barrier()
        self.assertFalse([p for p in alice.presences if p["type"] == "subscribe"], "alice was asked anyway")


class PresenceBroadcast(SubscriptionTestCase):
    """Contacts see each other come and go; probes; own resources; directed presence."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.alice = await self.login(ALICE, "phone")
        bob = await self.login(BOB, "laptop")
        await self.subscribe(self.alice, bob)
        await self.subscribe(bob, self.alice)
        await self.close(bob)
        await self.alice.expect_presence("unavailable", "bob@localhost/laptop")

    async def test_login_and_clean_logout(self):
        bob = await self.login(BOB, "desk")
        await self.alice.expect_presence("available", "bob@localhost/desk")
        await bob.expect_presence("available", "alice@localhost/phone")  # answer to bob's probe
        await bob.expect_presence("available", "bob@localhost/desk")     # its own presence
        await self.close(bob)
        await self.alice.expect_presence("unavailable", "bob@localhost/desk")

    async def test_abrupt_disconnect(self):
        bob = await self.login(BOB, "desk")
        await self.alice.expect_presence("available", "bob@localhost/desk")
        bob.abort()  # the TCP connection drops without </stream:stream>
        await self.alice.expect_presence("unavailable", "bob@localhost/desk")

    async def test_unavailable_and_changed_presence(self):
        bob = await self.login(BOB, "desk")
        await self.alice.expect_presence("available", "bob@localhost/desk")
        bob.send_presence(pshow="away", pstatus="lunch")
        changed = await self.alice.expect_presence("away", "bob@localhost/desk")
        self.assertEqual(changed["status"], "lunch")
        bob.send_presence(ptype="unavailable")
        await self.alice.expect_presence("unavailable", "bob@localhost/desk")

    async def test_own_resources_see_each_other(self):
        tablet = await self.login(ALICE, "tablet")
        await self.alice.expect_presence("available", "alice@localhost/tablet")
        await tablet.expect_presence("available", "alice@localhost/phone")
        await self.close(tablet)
        await self.alice.expect_presence("unavailable", "alice@localhost/tablet")

    async def test_directed_presence(self):
        carol = await self.login(CAROL, "home")
        self.alice.send_presence(pto=carol.boundjid.full, pstatus="hello carol")
        await carol.expect_presence("available", "alice@localhost/phone")
        self.alice.abort()
        await carol.expect_presence("unavailable", "alice@localhost/phone")

    async def test_no_presence_without_subscription(self):
        carol = await self.login(CAROL, "home")
        bob = await self.login(BOB, "desk")
        await self.alice.expect_presence("available", "bob@localhost/desk")
        await carol.barrier()
        self.assertFalse([p for p in carol.presences if p["from"].bare != "carol@localhost"],
                         "carol got presence she is not subscribed to")
        await self.close(bob)

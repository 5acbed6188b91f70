"""The standalone XEP-0060 service at pubsub.localhost (modules/pubsub) with slixmpp's
xep_0060 plugin against the real xmppd: nodes made and configured by their owner,
explicit subscriptions with notifications and the last item, affiliations (publisher,
member, outcast) and what they allow, subscriptions managed by the owner, delete and
purge, discovery, and the errors the XEP names.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_pubsub
"""

import asyncio
import subprocess
import unittest
import xml.etree.ElementTree as ET

import harness

from slixmpp.exceptions import IqError

from harness import TIMEOUT
from test_presence import SubscriptionTestCase
from test_roster import ALICE, BOB, CAROL

SERVICE = "pubsub.localhost"
PUBSUB = "http://jabber.org/protocol/pubsub"
ERRORS = "http://jabber.org/protocol/pubsub#errors"
ATOM = "http://www.w3.org/2005/Atom"
PLUGINS = ("xep_0030", "xep_0004", "xep_0060")


def entry(title):
    e = ET.Element(f"{{{ATOM}}}entry")
    ET.SubElement(e, f"{{{ATOM}}}title").text = title
    return e


class PubsubTestCase(SubscriptionTestCase):

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0
        self.server = self.start_server(
            extra_toml='modules = ["roster", "presence", "disco", "pubsub"]\n\n'
                       '[modules.pubsub]\nmax_item_bytes = 4096\nmax_items = 10\n')
        for user in (ALICE, BOB, CAROL):
            self.server.add_user(*user)

    async def pubsub_login(self, account, resource):
        client = await self.login(account, resource, plugins=PLUGINS)
        client.notices = asyncio.Queue()
        for event in ("pubsub_publish", "pubsub_retract", "pubsub_purge", "pubsub_delete"):
            client.add_event_handler(event, lambda m, event=event: client.notices.put_nowait((event, m)))
        return client

    async def next_notice(self, client):
        try:
            return await asyncio.wait_for(client.notices.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{client.boundjid}: no pubsub event within {TIMEOUT}s") from None

    def config(self, client, **fields):
        form = client["xep_0004"].make_form(ftype="submit")
        for var, value in fields.items():
            form.add_field(var=f"pubsub#{var}", value=value)
        return form

    async def refused(self, awaitable):
        with self.assertRaises(IqError) as caught:
            await awaitable
        error = caught.exception.iq.xml.find("{jabber:client}error")
        apps = [c.tag.split("}")[1] for c in error if c.tag.startswith(f"{{{ERRORS}}}")]
        return caught.exception.iq["error"]["condition"], apps[0] if apps else None

    async def titles(self, client, node):
        reply = await client["xep_0060"].get_items(SERVICE, node, timeout=TIMEOUT)
        return [item.xml.find(f"{{{ATOM}}}entry/{{{ATOM}}}title").text for item in reply["pubsub"]["items"]]

    async def publish(self, client, node, title, item_id=None):
        reply = await client["xep_0060"].publish(SERVICE, node, id=item_id, payload=entry(title), timeout=TIMEOUT)
        return reply["pubsub"]["publish"]["item"]["id"]


class Nodes(PubsubTestCase):

    async def test_subscribers_get_items_the_last_one_on_subscribing_and_retractions(self):
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        carol = await self.pubsub_login(CAROL, "laptop")
        node = "news"
        await alice["xep_0060"].create_node(SERVICE, node, timeout=TIMEOUT)  # open by default
        first = await self.publish(alice, node, "first")
        self.assertTrue(first, "the service named the item")
        # Subscribing sends the last item at once (send_last_published_item on_sub_and_presence).
        reply = await bob["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual(reply["pubsub"]["subscription"]["subscription"], "subscribed")
        self.assertEqual(reply["pubsub"]["subscription"]["jid"].full, "bob@localhost")
        kind, message = await self.next_notice(bob)
        self.assertEqual((kind, message["pubsub_event"]["items"]["item"]["id"]), ("pubsub_publish", first))
        # A new item reaches the subscriber, not the one who is not subscribed.
        second = await self.publish(alice, node, "second", item_id="two")
        kind, message = await self.next_notice(bob)
        self.assertEqual((kind, message["pubsub_event"]["items"]["item"]["id"]), ("pubsub_publish", second))
        self.assertEqual(message["from"].full, SERVICE)
        self.assertEqual(await self.titles(carol, node), ["first", "second"])
        # Bob's subscriptions, and the owner's view of the node's.
        subs = await bob["xep_0060"].get_subscriptions(SERVICE, timeout=TIMEOUT)
        self.assertEqual([(s["node"], s["jid"].full, s["subscription"]) for s in subs["pubsub"]["subscriptions"]],
                         [(node, "bob@localhost", "subscribed")])
        subs = await alice["xep_0060"].get_node_subscriptions(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual([s["jid"].full for s in subs["pubsub_owner"]["subscriptions"]], ["bob@localhost"])
        # Retraction with notify reaches the subscriber; then Bob unsubscribes and hears nothing more.
        await alice["xep_0060"].retract(SERVICE, node, "two", notify=True, timeout=TIMEOUT)
        kind, message = await self.next_notice(bob)
        self.assertEqual(kind, "pubsub_retract")
        await bob["xep_0060"].unsubscribe(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual(await self.refused(bob["xep_0060"].unsubscribe(SERVICE, node, timeout=TIMEOUT)),
                         ("unexpected-request", "not-subscribed"))
        await self.publish(alice, node, "third")
        await carol["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)  # a subscriber after Bob left
        kind, _ = await self.next_notice(carol)  # its last item, sent after the publish was done
        self.assertEqual(kind, "pubsub_publish")
        self.assertTrue(bob.notices.empty(), "Bob was notified after unsubscribing")

    async def test_owner_configures_purges_and_deletes(self):
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        reply = await alice["xep_0060"].create_node(SERVICE, None, timeout=TIMEOUT)  # an instant node
        node = reply["pubsub"]["create"]["node"]
        self.assertTrue(node)
        self.assertEqual(await self.refused(alice["xep_0060"].create_node(SERVICE, node, timeout=TIMEOUT)),
                         ("conflict", None))
        # The default configuration, and the node's, changed by its owner only.
        default = await alice["xep_0060"].get_node_config(SERVICE, timeout=TIMEOUT)
        values = default["pubsub_owner"]["default"]["form"]["values"]
        self.assertEqual((values["pubsub#access_model"], values["pubsub#max_items"]), ("open", "max"))
        await alice["xep_0060"].set_node_config(SERVICE, node, self.config(alice, access_model="open", max_items="2",
                                                                           title="Alice's notes"), timeout=TIMEOUT)
        config = await alice["xep_0060"].get_node_config(SERVICE, node, timeout=TIMEOUT)
        values = config["pubsub_owner"]["configure"]["form"]["values"]
        self.assertEqual((values["pubsub#access_model"], values["pubsub#max_items"], values["pubsub#title"]),
                         ("open", "2", "Alice's notes"))
        self.assertEqual(await self.refused(bob["xep_0060"].set_node_config(
            SERVICE, node, self.config(bob, access_model="whitelist"), timeout=TIMEOUT)), ("forbidden", None))
        self.assertEqual(await self.refused(alice["xep_0060"].set_node_config(
            SERVICE, node, self.config(alice, access_model="everyone"), timeout=TIMEOUT)), ("not-acceptable", None))
        # max_items keeps the newest two.
        for title in ("a", "b", "c"):
            await self.publish(alice, node, title)
        self.assertEqual(await self.titles(bob, node), ["b", "c"])
        # Discovery: the service, the node with its metadata, its items.
        info = await bob["xep_0030"].get_info(jid=SERVICE, timeout=TIMEOUT)
        self.assertIn(("pubsub", "service", None, None), info["disco_info"]["identities"])
        self.assertIn(f"{PUBSUB}#subscribe", info["disco_info"]["features"])
        info = await bob["xep_0030"].get_info(jid=SERVICE, node=node, timeout=TIMEOUT)
        self.assertIn(("pubsub", "leaf", None, None), info["disco_info"]["identities"])
        form = info.xml.find("{http://jabber.org/protocol/disco#info}query/{jabber:x:data}x")
        meta = {f.get("var"): f.findtext("{jabber:x:data}value") for f in form.findall("{jabber:x:data}field")}
        self.assertEqual((meta["FORM_TYPE"], meta["pubsub#title"]), (f"{PUBSUB}#meta-data", "Alice's notes"))
        items = await bob["xep_0030"].get_items(jid=SERVICE, timeout=TIMEOUT)
        self.assertIn(node, [n for _, n, _ in items["disco_items"]["items"]])
        items = await bob["xep_0030"].get_items(jid=SERVICE, node=node, timeout=TIMEOUT)
        self.assertEqual(len(items["disco_items"]["items"]), 2)
        # Purge and delete: refused to others, announced to subscribers.
        await bob["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)
        await self.next_notice(bob)  # the last item
        self.assertEqual(await self.refused(bob["xep_0060"].purge(SERVICE, node, timeout=TIMEOUT)), ("forbidden", None))
        await alice["xep_0060"].purge(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual((await self.next_notice(bob))[0], "pubsub_purge")
        self.assertEqual(await self.titles(bob, node), [])
        await alice["xep_0060"].delete_node(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual((await self.next_notice(bob))[0], "pubsub_delete")
        self.assertEqual(await self.refused(bob["xep_0060"].get_items(SERVICE, node, timeout=TIMEOUT)),
                         ("item-not-found", None))
        subs = await bob["xep_0060"].get_subscriptions(SERVICE, timeout=TIMEOUT)
        self.assertEqual(len(subs["pubsub"]["subscriptions"]), 0, "the node's subscriptions went with it")


class Affiliations(PubsubTestCase):

    async def test_affiliations_decide_who_publishes_reads_and_subscribes(self):
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        carol = await self.pubsub_login(CAROL, "laptop")
        node = "team"
        await alice["xep_0060"].create_node(SERVICE, node, config=self.config(alice, access_model="whitelist"),
                                            timeout=TIMEOUT)
        await self.publish(alice, node, "agenda")
        # Not on the whitelist: neither reading nor subscribing nor publishing.
        self.assertEqual(await self.refused(bob["xep_0060"].get_items(SERVICE, node, timeout=TIMEOUT)),
                         ("not-allowed", "closed-node"))
        self.assertEqual(await self.refused(bob["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)),
                         ("not-allowed", "closed-node"))
        self.assertEqual(await self.refused(bob["xep_0060"].publish(SERVICE, node, payload=entry("x"), timeout=TIMEOUT)),
                         ("forbidden", None))
        # Bob a member (reads), Carol a publisher (publishes); not by a non-owner.
        self.assertEqual(await self.refused(bob["xep_0060"].modify_affiliations(
            SERVICE, node, [("bob@localhost", "owner")], timeout=TIMEOUT)), ("forbidden", None))
        await alice["xep_0060"].modify_affiliations(
            SERVICE, node, [("bob@localhost", "member"), ("carol@localhost", "publisher")], timeout=TIMEOUT)
        affs = await alice["xep_0060"].get_node_affiliations(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual(sorted((a["jid"].full, a["affiliation"]) for a in affs["pubsub_owner"]["affiliations"]),
                         [("alice@localhost", "owner"), ("bob@localhost", "member"), ("carol@localhost", "publisher")])
        mine = await bob["xep_0060"].get_affiliations(SERVICE, timeout=TIMEOUT)
        self.assertEqual([(a["node"], a["affiliation"]) for a in mine["pubsub"]["affiliations"]], [(node, "member")])
        self.assertEqual(await self.titles(bob, node), ["agenda"])
        await bob["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)
        await self.next_notice(bob)  # the last item
        await self.publish(carol, node, "minutes", item_id="m1")
        kind, message = await self.next_notice(bob)
        self.assertEqual(message["pubsub_event"]["items"]["item"]["id"], "m1")
        # A publisher retracts its own items only.
        await self.publish(alice, node, "alice's", item_id="a1")
        await self.next_notice(bob)
        self.assertEqual(await self.refused(carol["xep_0060"].retract(SERVICE, node, "a1", timeout=TIMEOUT)),
                         ("forbidden", None))
        await carol["xep_0060"].retract(SERVICE, node, "m1", timeout=TIMEOUT)
        self.assertEqual((await self.next_notice(bob))[0], "pubsub_retract")
        # Bob made an outcast: his subscription ends and he reads nothing.
        await alice["xep_0060"].modify_affiliations(SERVICE, node, [("bob@localhost", "outcast")], timeout=TIMEOUT)
        self.assertEqual(await self.refused(bob["xep_0060"].get_items(SERVICE, node, timeout=TIMEOUT)),
                         ("forbidden", None))
        subs = await alice["xep_0060"].get_node_subscriptions(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual(len(subs["pubsub_owner"]["subscriptions"]), 0)
        # The last owner stays: removing her is refused and changes nothing.
        self.assertEqual(await self.refused(alice["xep_0060"].modify_affiliations(
            SERVICE, node, [("alice@localhost", "none")], timeout=TIMEOUT)), ("not-acceptable", None))
        affs = await alice["xep_0060"].get_node_affiliations(SERVICE, node, timeout=TIMEOUT)
        self.assertIn(("alice@localhost", "owner"),
                      [(a["jid"].full, a["affiliation"]) for a in affs["pubsub_owner"]["affiliations"]])

    async def test_owner_manages_subscriptions_and_presence_access(self):
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        carol = await self.pubsub_login(CAROL, "laptop")
        node = "status"
        await alice["xep_0060"].create_node(SERVICE, node, config=self.config(alice, access_model="presence"),
                                            timeout=TIMEOUT)
        await self.publish(alice, node, "in the office")
        self.assertEqual(await self.refused(bob["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)),
                         ("not-authorized", "presence-subscription-required"))
        await self.subscribe(bob, alice)  # the owner's roster now shares presence with Bob
        await bob["xep_0060"].subscribe(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual((await self.next_notice(bob))[0], "pubsub_publish")
        # The owner subscribes Carol's phone (a full JID) and removes Bob's subscription.
        await alice["xep_0060"].modify_subscriptions(
            SERVICE, node, [("carol@localhost/laptop", "subscribed"), ("bob@localhost", "none")], timeout=TIMEOUT)
        subs = await alice["xep_0060"].get_node_subscriptions(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual([s["jid"].full for s in subs["pubsub_owner"]["subscriptions"]], ["carol@localhost/laptop"])
        # Carol is subscribed but may not read a presence node: she gets nothing; neither does Bob.
        await alice["xep_0060"].set_node_config(SERVICE, node, self.config(alice, access_model="open"), timeout=TIMEOUT)
        await self.publish(alice, node, "at lunch", item_id="lunch")
        kind, message = await self.next_notice(carol)
        self.assertEqual((message["to"].full, message["pubsub_event"]["items"]["item"]["id"]),
                         ("carol@localhost/laptop", "lunch"))
        self.assertTrue(bob.notices.empty(), "Bob's subscription was removed")

    async def test_bad_requests_change_nothing(self):
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        node = "checked"
        await alice["xep_0060"].create_node(SERVICE, node, config=self.config(alice, access_model="open"),
                                            timeout=TIMEOUT)
        await self.publish(alice, node, "kept", item_id="kept")
        too_big = entry("x" * 5000)
        self.assertEqual(await self.refused(alice["xep_0060"].publish(SERVICE, node, payload=too_big, timeout=TIMEOUT)),
                         ("not-acceptable", "payload-too-big"))
        # Subscribing someone else, publishing to no node, unknown nodes.
        iq = bob.make_iq_set(ito=SERVICE)
        pubsub = ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub")
        ET.SubElement(pubsub, f"{{{PUBSUB}}}subscribe", {"node": node, "jid": "carol@localhost"})
        self.assertEqual(await self.refused(iq.send(timeout=TIMEOUT)), ("bad-request", "invalid-jid"))
        iq = alice.make_iq_set(ito=SERVICE)
        publish = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}publish")
        ET.SubElement(publish, f"{{{PUBSUB}}}item").append(entry("nowhere"))
        self.assertEqual(await self.refused(iq.send(timeout=TIMEOUT)), ("bad-request", "nodeid-required"))
        self.assertEqual(await self.refused(bob["xep_0060"].subscribe(SERVICE, "missing", timeout=TIMEOUT)),
                         ("item-not-found", None))
        self.assertEqual(await self.refused(alice["xep_0060"].modify_affiliations(
            SERVICE, node, [("bob@localhost", "king")], timeout=TIMEOUT)), ("bad-request", None))
        # A JID at the service is no node of it.
        reply = await self.refused(bob["xep_0030"].get_info(jid=f"someone@{SERVICE}", timeout=TIMEOUT))
        self.assertEqual(reply[0], "item-not-found")
        self.assertEqual(await self.titles(bob, node), ["kept"])
        affs = await alice["xep_0060"].get_node_affiliations(SERVICE, node, timeout=TIMEOUT)
        self.assertEqual([(a["jid"].full, a["affiliation"]) for a in affs["pubsub_owner"]["affiliations"]],
                         [("alice@localhost", "owner")])

    async def test_creators_and_persistence_across_a_restart(self):
        self.server.stop()
        self.server = self.start_server(
            extra_toml='modules = ["roster", "presence", "disco", "pubsub"]\n\n'
                       '[modules.pubsub]\ncreators = ["alice@localhost"]\n')
        for user in (ALICE, BOB):
            self.server.add_user(*user)
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        self.assertEqual(await self.refused(bob["xep_0060"].create_node(SERVICE, "bobs", timeout=TIMEOUT)),
                         ("forbidden", None))
        self.assertEqual(await self.refused(bob["xep_0060"].publish(SERVICE, "bobs", payload=entry("x"), timeout=TIMEOUT)),
                         ("item-not-found", None))
        await self.publish(alice, "auto", "made on first publish")  # auto-create (§7.1.4)
        await bob["xep_0060"].subscribe(SERVICE, "auto", timeout=TIMEOUT)
        await self.next_notice(bob)
        # After a restart the node, its item, its owner and the subscription are still there.
        self.server.stop()
        self.server.start()
        alice = await self.pubsub_login(ALICE, "desk")
        bob = await self.pubsub_login(BOB, "phone")
        self.assertEqual(await self.titles(bob, "auto"), ["made on first publish"])
        await self.publish(alice, "auto", "after the restart", item_id="later")
        kind, message = await self.next_notice(bob)
        self.assertEqual(message["pubsub_event"]["items"]["item"]["id"], "later")


class BadConfig(unittest.TestCase):

    def refused(self, key, value):
        server = harness.XmppServer(extra_toml=f'modules = ["disco", "pubsub"]\n\n[modules.pubsub]\n{key} = {value}\n')
        self.addCleanup(server.remove_dir)
        result = subprocess.run([harness.xmppd_binary(), "--config", server.config_path],
                                capture_output=True, text=True, timeout=TIMEOUT)
        self.assertNotEqual(result.returncode, 0)
        line = open(server.config_path).read().splitlines().index(f"{key} = {value}") + 1
        return result.stdout + result.stderr, line

    def test_a_bad_domain_or_creator_names_file_line_and_key(self):
        output, line = self.refused("domain", '"not a domain@"')
        self.assertIn(f"xmppd.toml:{line}: modules.pubsub.domain: not a domain name", output)
        output, line = self.refused("creators", '["pubsub.localhost"]')
        self.assertIn(f"xmppd.toml:{line}: modules.pubsub.creators: not a bare JID", output)


if __name__ == "__main__":
    unittest.main()

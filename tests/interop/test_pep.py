"""XEP-0163 personal eventing (modules/pep) with slixmpp's xep_0060, xep_0163 and xep_0115
plugins against the real xmppd: publishing, +notify notifications through verified entity
capabilities, last items at login, access models, publish-options and bad requests.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_pep
"""

import asyncio
import re
import unittest
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import TIMEOUT
from test_presence import SubscriptionTestCase
from test_roster import ALICE, BOB, CAROL

PUBSUB = "http://jabber.org/protocol/pubsub"
EVENT = "http://jabber.org/protocol/pubsub#event"
ERRORS = "http://jabber.org/protocol/pubsub#errors"
NICK = "http://jabber.org/protocol/nick"
GEO = "http://jabber.org/protocol/geoloc"
PLUGINS = ("xep_0030", "xep_0004", "xep_0060", "xep_0115", "xep_0163")


def nick(text):
    e = ET.Element(f"{{{NICK}}}nick")
    e.text = text
    return e


class PepTestCase(SubscriptionTestCase):

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0
        self.server = self.start_server(
            extra_toml='modules = ["roster", "presence", "disco", "pep"]\n\n[modules.pep]\nmax_item_bytes = 4096\n')
        for user in (ALICE, BOB, CAROL):
            self.server.add_user(*user)

    async def pep_login(self, account, resource, interests=(), plugins=PLUGINS):
        client = await self.login(account, resource, plugins=plugins)
        client.events = asyncio.Queue()
        client.register_handler(Callback(
            "pep events", MatchXPath(f"{{jabber:client}}message/{{{EVENT}}}event"),
            lambda m: client.events.put_nowait(m)))
        for ns in interests:
            client["xep_0163"].add_interest(ns)
        # Announce the caps with these interests and wait until the server knows them
        # (it asks the client's disco#info once per 'ver' and checks the hash).
        await client["xep_0115"].update_caps(broadcast=True)
        ver = await client["xep_0115"].get_verstring(client.boundjid)
        await self.log_line(rf"pep: {re.escape(client.boundjid.full)} has caps {re.escape(ver)}")
        return client

    async def log_line(self, pattern):
        return await asyncio.to_thread(self.server.log.wait_for, pattern)

    async def next_event(self, client):
        try:
            return await asyncio.wait_for(client.events.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{client.boundjid}: no PEP event within {TIMEOUT}s") from None

    async def publish(self, client, node, payload, item_id=None, options=None):
        iq = client.make_iq_set()
        pubsub = ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub")
        publish = ET.SubElement(pubsub, f"{{{PUBSUB}}}publish", {"node": node})
        item = ET.SubElement(publish, f"{{{PUBSUB}}}item", {"id": item_id} if item_id else {})
        if payload is not None:
            item.append(payload)
        if options:
            form = client["xep_0004"].make_form(ftype="submit")
            form.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/pubsub#publish-options")
            for var, value in options.items():
                form.add_field(var=var, value=value)
            ET.SubElement(pubsub, f"{{{PUBSUB}}}publish-options").append(form.xml)
        return await iq.send(timeout=TIMEOUT)

    async def items(self, client, owner, node, **attrs):
        iq = client.make_iq_get(ito=owner)
        pubsub = ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub")
        ET.SubElement(pubsub, f"{{{PUBSUB}}}items", {"node": node, **attrs})
        reply = await iq.send(timeout=TIMEOUT)
        return reply.xml.findall(f"{{{PUBSUB}}}pubsub/{{{PUBSUB}}}items/{{{PUBSUB}}}item")

    async def refused(self, awaitable):
        with self.assertRaises(IqError) as caught:
            await awaitable
        error = caught.exception.iq.xml.find("{jabber:client}error")
        apps = [c.tag.split("}")[1] for c in error if c.tag.startswith(f"{{{ERRORS}}}")]
        return caught.exception.iq["error"]["condition"], apps[0] if apps else None

    async def contacts(self, a, b):
        await self.subscribe(a, b)
        await self.subscribe(b, a)


class Notifications(PepTestCase):

    async def test_contacts_with_notify_get_items_others_do_not(self):
        alice = await self.pep_login(ALICE, "desk", interests=[NICK])
        bob = await self.pep_login(BOB, "home", interests=[NICK])
        carol = await self.pep_login(CAROL, "x", interests=[])  # a contact who did not ask
        await self.contacts(alice, bob)
        await self.contacts(alice, carol)
        await bob.barrier()
        await carol.barrier()

        info = await alice["xep_0030"].get_info(jid="alice@localhost", timeout=TIMEOUT)
        self.assertIn(PUBSUB + "#publish-options", info["disco_info"]["features"])
        self.assertIn(("pubsub", "pep", None, None), info["disco_info"]["identities"])

        reply = await self.publish(alice, NICK, nick("Ally"), item_id="current")
        self.assertEqual(reply.xml.find(f"{{{PUBSUB}}}pubsub/{{{PUBSUB}}}publish/{{{PUBSUB}}}item").get("id"), "current")
        for client in (bob, alice):
            event = await self.next_event(client)
            self.assertEqual(event["from"].full, "alice@localhost")
            item = event.xml.find(f"{{{EVENT}}}event/{{{EVENT}}}items/{{{EVENT}}}item")
            self.assertEqual(item.get("id"), "current")
            self.assertEqual(item.findtext(f"{{{NICK}}}nick"), "Ally")
        # Carol's caps do not ask for nicknames: nothing for her. Her copy would have been
        # queued in the same pass as Bob's, ahead of the answer to her round trip.
        await carol.barrier()
        self.assertTrue(carol.events.empty())

        # Retraction is notified too.
        iq = alice.make_iq_set()
        retract = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}retract",
                                {"node": NICK, "notify": "true"})
        ET.SubElement(retract, f"{{{PUBSUB}}}item", {"id": "current"})
        await iq.send(timeout=TIMEOUT)
        event = await self.next_event(bob)
        self.assertEqual(event.xml.find(f"{{{EVENT}}}event/{{{EVENT}}}items/{{{EVENT}}}retract").get("id"), "current")
        self.assertEqual(await self.items(bob, "alice@localhost", NICK), [])

    async def test_last_item_at_login_and_after_restart(self):
        alice = await self.pep_login(ALICE, "desk", interests=[NICK])
        bob = await self.pep_login(BOB, "home", interests=[NICK])
        await self.contacts(alice, bob)
        await self.publish(alice, NICK, nick("First"), item_id="current")
        await self.publish(alice, NICK, nick("Second"), item_id="current")
        await self.next_event(bob)
        await self.next_event(bob)

        await asyncio.to_thread(self.server.stop)
        await asyncio.to_thread(self.server.start)
        phone = await self.pep_login(BOB, "phone", interests=[NICK])
        event = await self.next_event(phone)
        self.assertEqual(event.xml.findtext(f"{{{EVENT}}}event/{{{EVENT}}}items/{{{EVENT}}}item/{{{NICK}}}nick"),
                         "Second")
        items = await self.items(phone, "alice@localhost", NICK)
        self.assertEqual([i.findtext(f"{{{NICK}}}nick") for i in items], ["Second"])


class Blocking(PepTestCase):
    """Notifications fan out without the incoming hooks; a blocklist still applies."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.server.stop()
        self.server = self.start_server(extra_toml='modules = ["roster", "presence", "disco", "blocking", "pep"]\n')
        for user in (ALICE, BOB, CAROL):
            self.server.add_user(*user)

    async def blocklist(self, client, action, jid):
        iq = client.make_iq_set()
        ET.SubElement(ET.SubElement(iq.xml, f"{{urn:xmpp:blocking}}{action}"), "{urn:xmpp:blocking}item", {"jid": jid})
        await iq.send(timeout=TIMEOUT)

    async def test_a_contact_who_blocks_the_publisher_hears_nothing(self):
        alice = await self.pep_login(ALICE, "desk", interests=[NICK])
        bob = await self.pep_login(BOB, "home", interests=[NICK])
        carol = await self.pep_login(CAROL, "x", interests=[NICK])
        await self.contacts(alice, bob)
        await self.contacts(alice, carol)
        await self.blocklist(carol, "block", "alice@localhost")
        await self.publish(alice, NICK, nick("Ally"), item_id="first")
        self.assertEqual((await self.next_event(bob))["pubsub_event"]["items"]["item"]["id"], "first")
        await carol.barrier()
        self.assertTrue(carol.events.empty(), "Carol blocks Alice, yet heard of her nickname")
        # Unblocked, she hears of the next one.
        await self.blocklist(carol, "unblock", "alice@localhost")
        await self.publish(alice, NICK, nick("Al"), item_id="second")
        self.assertEqual((await self.next_event(carol))["pubsub_event"]["items"]["item"]["id"], "second")


class NodeTypes(PepTestCase):
    """The node types clients use, each through its XEP's own profile."""

    async def test_nickname_private_data_and_openpgp_keys(self):
        plugins = PLUGINS + ("xep_0172", "xep_0223")
        notes = "urn:example:notes"
        keys = "urn:xmpp:openpgp:0:public-keys"
        alice = await self.pep_login(ALICE, "desk", interests=[NICK], plugins=plugins)
        bob = await self.pep_login(BOB, "home", interests=[NICK, notes, keys], plugins=plugins)
        carol = await self.pep_login(CAROL, "x", plugins=plugins)  # a stranger
        await self.contacts(alice, bob)

        # XEP-0172: the nickname reaches a contact who asked for it; a stranger may not read it.
        await alice["xep_0172"].publish_nick("Ally", timeout=TIMEOUT)
        event = await self.next_event(bob)
        self.assertEqual(event.xml.findtext(f".//{{{NICK}}}nick"), "Ally")
        self.assertEqual((await self.refused(self.items(carol, "alice@localhost", NICK)))[0], "not-authorized")

        # XEP-0223: private data (whitelist, persistent) for the owner's devices only.
        from slixmpp.plugins.xep_0172.stanza import UserNick
        secret = UserNick()
        secret["nick"] = "only mine"
        await alice["xep_0223"].store(secret, node=notes, id="current", timeout=TIMEOUT)
        second = await self.pep_login(ALICE, "phone", plugins=plugins)
        reply = await second["xep_0223"].retrieve(notes, timeout=TIMEOUT)
        self.assertEqual(reply.xml.findtext(f".//{{{NICK}}}nick"), "only mine")
        self.assertEqual(await self.refused(self.items(bob, "alice@localhost", notes)), ("not-allowed", "closed-node"))

        # XEP-0373: a public key and the list that names it, open to anyone.
        fingerprint = "1357B01865B2503C18453D208CAC2A9678548E35"
        key = ET.Element("{urn:xmpp:openpgp:0}pubkey")
        ET.SubElement(key, "{urn:xmpp:openpgp:0}data").text = "BASE64KEY"
        listing = ET.Element("{urn:xmpp:openpgp:0}public-keys-list")
        ET.SubElement(listing, "{urn:xmpp:openpgp:0}pubkey-metadata",
                      {"v4-fingerprint": fingerprint, "date": "2026-12-04T21:00:00Z"})
        open_access = {"pubsub#access_model": "open"}
        await self.publish(alice, f"{keys}:{fingerprint}", key, item_id="2026-12-04T21:00:00Z", options=open_access)
        await self.publish(alice, keys, listing, options=open_access)
        event = await self.next_event(bob)
        self.assertEqual(event.xml.find(f".//{{urn:xmpp:openpgp:0}}pubkey-metadata").get("v4-fingerprint"), fingerprint)
        published = await self.items(carol, "alice@localhost", f"{keys}:{fingerprint}")
        self.assertEqual(published[0].findtext("{urn:xmpp:openpgp:0}pubkey/{urn:xmpp:openpgp:0}data"), "BASE64KEY")
        await bob.barrier()
        self.assertTrue(bob.events.empty(), "Bob was told of private data")


class Access(PepTestCase):

    async def test_access_models(self):
        alice = await self.pep_login(ALICE, "desk")
        bob = await self.pep_login(BOB, "home")
        carol = await self.pep_login(CAROL, "x")  # no subscription with alice
        await self.contacts(alice, bob)
        await self.publish(alice, NICK, nick("presence only"))  # PEP default: presence
        await self.publish(alice, GEO, ET.Element(f"{{{GEO}}}geoloc"), options={"pubsub#access_model": "open"})
        self.assertEqual(len(await self.items(bob, "alice@localhost", NICK)), 1)
        self.assertEqual(await self.refused(self.items(carol, "alice@localhost", NICK)),
                         ("not-authorized", "presence-subscription-required"))
        self.assertEqual(len(await self.items(carol, "alice@localhost", GEO)), 1)
        # Discovery lists the nodes each may read.
        def nodes(items):
            return sorted(node for _, node, _ in items["disco_items"]["items"])
        self.assertEqual(nodes(await alice["xep_0030"].get_items(jid="alice@localhost", timeout=TIMEOUT)), [GEO, NICK])
        self.assertEqual(nodes(await carol["xep_0030"].get_items(jid="alice@localhost", timeout=TIMEOUT)), [GEO])
        # Only the owner publishes.
        iq = carol.make_iq_set(ito="alice@localhost")
        publish = ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}}}pubsub"), f"{{{PUBSUB}}}publish", {"node": NICK})
        ET.SubElement(publish, f"{{{PUBSUB}}}item").append(nick("intruder"))
        self.assertEqual((await self.refused(iq.send(timeout=TIMEOUT)))[0], "forbidden")

    async def test_publish_options_and_bad_requests(self):
        alice = await self.pep_login(ALICE, "desk")
        opts = {"pubsub#access_model": "open", "pubsub#max_items": "max"}
        for i in range(3):
            await self.publish(alice, "urn:xmpp:omemo:2:bundles", nick(f"bundle {i}"), item_id=f"dev{i}", options=opts)
        self.assertEqual(len(await self.items(alice, None, "urn:xmpp:omemo:2:bundles")), 3)
        # A precondition the node does not meet: refused, and the node is unchanged.
        self.assertEqual(await self.refused(self.publish(alice, "urn:xmpp:omemo:2:bundles", nick("x"),
                                                         options={"pubsub#access_model": "presence"})),
                         ("conflict", "precondition-not-met"))
        self.assertEqual(len(await self.items(alice, None, "urn:xmpp:omemo:2:bundles")), 3)
        self.assertEqual(await self.refused(self.publish(alice, "", nick("x"))), ("bad-request", "nodeid-required"))
        self.assertEqual(await self.refused(self.publish(alice, NICK, None)), ("bad-request", "item-required"))
        big = ET.Element(f"{{{NICK}}}nick")
        big.text = "x" * 5000  # over max_item_bytes, well under the stanza size limit
        self.assertEqual(await self.refused(self.publish(alice, NICK, big)), ("not-acceptable", "payload-too-big"))
        self.assertEqual(await self.refused(self.publish(alice, NICK, nick("x"),
                                                         options={"pubsub#access_model": "everyone"})),
                         ("conflict", "precondition-not-met"))
        self.assertEqual((await self.refused(self.items(alice, None, "no-such-node")))[0], "item-not-found")
        # The owner reconfigures, then deletes; a stranger may not.
        iq = alice.make_iq_get()
        ET.SubElement(ET.SubElement(iq.xml, f"{{{PUBSUB}#owner}}pubsub"), f"{{{PUBSUB}#owner}}configure",
                      {"node": "urn:xmpp:omemo:2:bundles"})
        form = (await iq.send(timeout=TIMEOUT)).xml.find(f".//{{jabber:x:data}}x")
        fields = {f.get("var"): f.findtext("{jabber:x:data}value") for f in form}
        self.assertEqual(fields["pubsub#access_model"], "open")
        self.assertEqual(fields["pubsub#max_items"], "max")
        delete = alice.make_iq_set()
        ET.SubElement(ET.SubElement(delete.xml, f"{{{PUBSUB}#owner}}pubsub"), f"{{{PUBSUB}#owner}}delete",
                      {"node": "urn:xmpp:omemo:2:bundles"})
        await delete.send(timeout=TIMEOUT)
        self.assertEqual((await self.refused(self.items(alice, None, "urn:xmpp:omemo:2:bundles")))[0], "item-not-found")


if __name__ == "__main__":
    unittest.main()

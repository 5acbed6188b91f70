"""The whole instant-messaging story end to end: real slixmpp clients against xmppd running
the module set exactly as shipped in config/xmppd.toml, with in-band registration allowed.

    XMPPD_BUILD_DIR=... /usr/bin/python3 -m unittest -v test_im_scenario     (from tests/interop/)

Accounts are created in-band (XEP-0077), never with xmppctl. Nothing sleeps: every step
awaits a slixmpp event, a queue or a server log line, each bounded by harness.TIMEOUT.
"""

import asyncio
import datetime
import os
import re
import tomllib
import unittest
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError
from slixmpp.xmlstream import ElementBase

import harness
from harness import DOMAIN, TIMEOUT
from test_roster import ImClient

ALICE = ("alice@localhost", "alice-secret")
BOB = ("bob@localhost", "bob-secret")
DELAY = "{urn:xmpp:delay}delay"
PRIVATE_NS = "jabber:iq:private"
PLUGINS = ("xep_0030", "xep_0049", "xep_0054", "xep_0092", "xep_0191", "xep_0199", "xep_0202")


def shipped_modules():
    """The [server] modules of the shipped config: the set this scenario must work with."""
    path = os.path.join(os.path.dirname(__file__), "..", "..", "config", "xmppd.toml")
    with open(path, "rb") as f:
        return tomllib.load(f)["server"]["modules"]


def server_toml():
    # The harness writes [hosts."localhost"] last: the bare key lands there, then our table.
    modules = ", ".join(f'"{name}"' for name in shipped_modules())
    # The proxy's listener on a free loopback port, so that runs side by side never collide
    # (uploads go through the server's HTTP listeners, which the harness puts on free ports).
    listeners = "".join(f'\n[modules.{name}]\naddress = "127.0.0.1"\nport = 0\n'
                        for name in ("proxy65",) if name in shipped_modules())
    return f"modules = [{modules}]\n\n[modules.register]\nallow_registration = true\n" + listeners


class Prefs(ElementBase):
    """A private-storage fragment for xep_0049 (any namespace of the client's own)."""
    name = "prefs"
    namespace = "urn:example:prefs"
    plugin_attrib = "prefs"
    interfaces = {"nick"}
    sub_interfaces = interfaces


class Account(ImClient):
    """An ImClient (roster pushes and presences queued, subscriptions answered by the test)
    that also queues its messages, can register itself in-band and has the service plugins."""

    def __init__(self, jid, password, ca_file, register=False):
        super().__init__(jid, password, ca_file)
        self.inbox = asyncio.Queue()
        self.registered = asyncio.Event()
        self.add_event_handler("message", self.inbox.put_nowait)
        for plugin in PLUGINS:
            self.register_plugin(plugin)
        self["xep_0049"].register(Prefs)
        if register:
            self.register_plugin("xep_0077")
            # slixmpp 1.8 holds back every IQ until the session starts, registration
            # included; this (private) switch lets the registration IQs out before login.
            self._always_send_everything = True
            self.add_event_handler("register", self._on_register)

    async def _on_register(self, _form):
        iq = self.make_iq_set()
        iq["register"]["username"] = self.boundjid.user
        iq["register"]["password"] = self.password
        await iq.send(timeout=TIMEOUT)  # an error raises: no account, so no session either
        self.registered.set()

    async def receive(self):
        try:
            return await asyncio.wait_for(self.inbox.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.boundjid}: no message within {TIMEOUT}s") from None


class ScenarioTestCase(harness.ServerTestCase, unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        # Starting xmppd blocks the loop on purpose (nothing else runs yet).
        asyncio.get_running_loop().slow_callback_duration = 5.0
        self.server = self.start_server(http_toml="", extra_toml=server_toml())

    async def login(self, account, resource, register=False):
        """A session of `account` (created in-band first if `register`), with the roster
        fetched and initial presence sent and processed."""
        jid, password = account
        client = Account(f"{jid}/{resource}", password, self.server.ca_file, register=register)
        client.default_port = self.server.port("starttls")
        client.connect(("localhost", client.default_port))
        self.addAsyncCleanup(self._drop, client)
        started = asyncio.ensure_future(client.session_started.wait())
        ended = asyncio.ensure_future(client.ended.wait())
        await asyncio.wait({started, ended}, timeout=TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
        for task in (started, ended):
            task.cancel()
        if register:
            self.assertTrue(client.registered.is_set(), f"{jid}: not registered in-band")
        self.assertTrue(client.session_started.is_set(), f"{jid}/{resource}: no session")
        await client.barrier()
        return client

    async def _drop(self, client):
        client.cancel_connection_attempt()
        if client.transport is not None:
            client.abort()

    async def close(self, client):
        await asyncio.wait_for(client.disconnect(wait=TIMEOUT), TIMEOUT + 5)

    async def log_line(self, pattern, since=0):
        """Waits for a server log line off the event loop, so the clients keep running."""
        return await asyncio.to_thread(self.server.log.wait_for, pattern, since=since)

    async def iq_error(self, awaitable, condition):
        with self.assertRaises(IqError) as raised:
            await awaitable
        error = raised.exception.iq
        self.assertEqual(error["error"]["condition"], condition, error)
        return error

    def vcard(self, client, full_name, description=""):
        card = client["xep_0054"].make_vcard()
        card["FN"] = full_name
        if description:
            card["DESC"] = description
        return card

    async def vcard_name(self, client, jid):
        reply = await client["xep_0054"].get_vcard(jid, cached=False, timeout=TIMEOUT)
        return reply["vcard_temp"]["FN"]

    async def private_nick(self, client):
        reply = await client["xep_0049"].retrieve("prefs", timeout=TIMEOUT)
        return reply["private"]["prefs"]["nick"]

    def prefs(self, nick):
        prefs = Prefs()
        prefs["nick"] = nick
        return prefs


class EndToEnd(ScenarioTestCase):
    """Two people sign up, become contacts, see each other, chat, catch up on what they
    missed, and use the server's services."""

    async def test_sign_up_subscribe_presence_chat_and_offline_messages(self):
        # 1. Both accounts are created in-band, then used to log in.
        alice = await self.login(ALICE, "phone", register=True)
        bob = await self.login(BOB, "laptop", register=True)
        self.assertEqual((alice.boundjid.full, bob.boundjid.full), ("alice@localhost/phone", "bob@localhost/laptop"))

        # 2. alice adds bob and subscribes; bob approves and subscribes back.
        await alice.roster_set("jid='bob@localhost' name='Bob'/>")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual((item["subscription"], item["name"]), ("none", "Bob"))

        alice.send_presence(pto="bob@localhost", ptype="subscribe")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual((item["subscription"], item["ask"]), ("none", "subscribe"))
        await bob.expect_presence("subscribe", "alice@localhost")
        bob.send_presence(pto="alice@localhost", ptype="subscribed")
        item, _ = await bob.next_push("alice@localhost")
        self.assertEqual(item["subscription"], "from")
        await alice.expect_presence("subscribed", "bob@localhost")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual((item["subscription"], item["ask"]), ("to", ""))

        bob.send_presence(pto="alice@localhost", ptype="subscribe")
        item, _ = await bob.next_push("alice@localhost")
        self.assertEqual((item["subscription"], item["ask"]), ("from", "subscribe"))
        await alice.expect_presence("subscribe", "bob@localhost")
        alice.send_presence(pto="bob@localhost", ptype="subscribed")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual(item["subscription"], "both")
        await bob.expect_presence("subscribed", "alice@localhost")
        item, _ = await bob.next_push("alice@localhost")
        self.assertEqual((item["subscription"], item["ask"]), ("both", ""))

        self.assertEqual((await alice.roster_items())["bob@localhost"]["subscription"], "both")
        self.assertEqual((await bob.roster_items())["alice@localhost"]["subscription"], "both")

        # 3. Each sees the other online (RFC 6121 §3.1.5: a new subscriber gets the
        # contact's presence), offline when they leave, and online again when they return.
        await alice.expect_presence("available", "bob@localhost/laptop")
        await bob.expect_presence("available", "alice@localhost/phone")
        await self.close(bob)
        await alice.expect_presence("unavailable", "bob@localhost/laptop")
        bob = await self.login(BOB, "desk")
        await alice.expect_presence("available", "bob@localhost/desk")
        await bob.expect_presence("available", "alice@localhost/phone")  # answer to bob's probe
        await self.close(alice)
        await bob.expect_presence("unavailable", "alice@localhost/phone")
        alice = await self.login(ALICE, "tablet")
        await bob.expect_presence("available", "alice@localhost/tablet")
        await alice.expect_presence("available", "bob@localhost/desk")

        # 4. A conversation, both ways.
        for sender, recipient, to, body in (
                (alice, bob, "bob@localhost", "Hi Bob ✓ <&>"),
                (bob, alice, "alice@localhost/tablet", "Hi Alice"),
                (alice, bob, "bob@localhost/desk", "How are you?")):
            sender.send_message(mto=to, mbody=body, mtype="chat")
            message = await recipient.receive()
            self.assertEqual((message["type"], message["body"]), ("chat", body), message)
            self.assertEqual(message["from"].full, sender.boundjid.full, message)
            self.assertEqual(message["to"].full, to, message)  # the address as sent
            self.assertIsNone(message.xml.find(DELAY), message)

        # 5. bob leaves; what alice sends meanwhile waits for him, in order, stamped.
        await self.close(bob)
        await alice.expect_presence("unavailable", "bob@localhost/desk")
        since = self.server.log.mark()
        ids = []
        for body in ("While you were out 1", "While you were out 2"):
            message = alice.make_message(mto="bob@localhost", mbody=body, mtype="chat")
            ids.append(message["id"])
            message.send()
        for message_id in ids:
            await self.log_line(rf"offline: stored message '{re.escape(message_id)}' for bob@localhost", since)

        bob = await self.login(BOB, "laptop")  # fetches the roster, then sends initial presence
        received = [await bob.receive() for _ in ids]
        self.assertEqual([m["body"] for m in received], ["While you were out 1", "While you were out 2"])
        for message in received:
            self.assertEqual(message["type"], "chat", message)
            self.assertEqual(message["from"].full, "alice@localhost/tablet", message)
            self.assertEqual(message["to"].full, "bob@localhost/laptop", message)
            delays = message.xml.findall(DELAY)
            self.assertEqual(len(delays), 1, message)
            self.assertEqual(delays[0].get("from"), DOMAIN, message)
            self.assertRegex(delays[0].get("stamp"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
        await alice.expect_presence("available", "bob@localhost/laptop")

        await self.close(alice)
        await bob.expect_presence("unavailable", "alice@localhost/tablet")
        await self.close(bob)

    async def test_services_through_slixmpp_plugins(self):
        alice = await self.login(ALICE, "phone", register=True)
        bob = await self.login(BOB, "laptop", register=True)

        # vCard (XEP-0054): alice publishes; she and bob read it back.
        await alice["xep_0054"].publish_vcard(self.vcard(alice, "Alice Liddell ✓"), timeout=TIMEOUT)
        self.assertEqual(await self.vcard_name(alice, "alice@localhost"), "Alice Liddell ✓")
        self.assertEqual(await self.vcard_name(bob, "alice@localhost"), "Alice Liddell ✓")

        # Private XML storage (XEP-0049): stored, read back, replaced; bob has none of it.
        await alice["xep_0049"].store(self.prefs("Queen Alice"), timeout=TIMEOUT)
        self.assertEqual(await self.private_nick(alice), "Queen Alice")
        await alice["xep_0049"].store(self.prefs("Alice"), timeout=TIMEOUT)
        self.assertEqual(await self.private_nick(alice), "Alice")
        self.assertEqual(await self.private_nick(bob), "")

        # Blocking (XEP-0191): bob blocks alice, her message bounces; unblocked, it arrives.
        await bob["xep_0191"].block(["alice@localhost"], timeout=TIMEOUT)
        blocked = await bob["xep_0191"].get_blocked(timeout=TIMEOUT)
        self.assertEqual([str(j) for j in blocked["blocklist"]["items"]], ["alice@localhost"])
        alice.send_message(mto="bob@localhost", mbody="Are you there?", mtype="chat")
        error = await alice.receive()
        self.assertEqual(error["type"], "error", error)
        self.assertEqual(error["error"]["condition"], "service-unavailable", error)
        await bob["xep_0191"].unblock(["alice@localhost"], timeout=TIMEOUT)
        alice.send_message(mto="bob@localhost", mbody="Now?", mtype="chat")
        message = await bob.receive()
        self.assertEqual(message["body"], "Now?", "the blocked message was delivered after all")
        blocked = await bob["xep_0191"].get_blocked(timeout=TIMEOUT)
        self.assertEqual(list(blocked["blocklist"]["items"]), [])

        # Service discovery (XEP-0030): the server identity and the enabled modules' features.
        info = (await alice["xep_0030"].get_info(jid=DOMAIN, timeout=TIMEOUT))["disco_info"]
        self.assertIn(("server", "im"), {(category, kind) for category, kind, _, _ in info["identities"]})
        features = set(info["features"])
        for feature in ("http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
                        "urn:xmpp:ping", "jabber:iq:version", "urn:xmpp:time", "msgoffline",
                        "vcard-temp", "urn:xmpp:blocking", "jabber:iq:last", "jabber:iq:register",
                        "http://jabber.org/protocol/commands"):
            self.assertIn(feature, features)

        # Ping (XEP-0199): send_ping, since ping() takes an error from the own server as a pong.
        pong = await alice["xep_0199"].send_ping(DOMAIN, timeout=TIMEOUT)
        self.assertEqual((pong["type"], pong["from"].full), ("result", DOMAIN), pong)

        # Software version (XEP-0092).
        version = (await alice["xep_0092"].get_version(DOMAIN, timeout=TIMEOUT))["software_version"]
        self.assertEqual(version["name"], "xmppd")
        self.assertTrue(version["version"], version)

        # Entity time (XEP-0202): the server's clock in UTC, and its offset. Read from the
        # XML: slixmpp 1.8.3's getters cannot parse XEP-0082 values (it appends a second
        # "Z" to <utc/>, and fails on any <tzo/> but "Z"), its own answers included.
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        reply = await alice["xep_0202"].get_entity_time(DOMAIN, timeout=TIMEOUT)
        after = datetime.datetime.now(datetime.timezone.utc)
        utc = reply.xml.findtext("{urn:xmpp:time}time/{urn:xmpp:time}utc")
        self.assertRegex(utc, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", reply)
        self.assertTrue(before <= datetime.datetime.fromisoformat(utc) <= after, reply)
        self.assertRegex(reply.xml.findtext("{urn:xmpp:time}time/{urn:xmpp:time}tzo"),
                         r"^(Z|[+-]\d\d:\d\d)$", reply)

        await self.close(alice)
        await self.close(bob)


class BadInput(ScenarioTestCase):
    """Bad requests get the RFC/XEP stanza error and change nothing: alice's roster, vCard
    and private storage read back exactly as they were."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.alice = await self.login(ALICE, "phone", register=True)
        await self.alice.roster_set("jid='bob@localhost' name='Bob'/>")
        await self.alice.next_push("bob@localhost")
        await self.alice["xep_0054"].publish_vcard(self.vcard(self.alice, "Alice Liddell"), timeout=TIMEOUT)
        await self.alice["xep_0049"].store(self.prefs("Alice"), timeout=TIMEOUT)
        self.roster_before = await self.roster_state()

    async def roster_state(self):
        query = await self.alice.roster_query()
        return query.get("ver"), await self.alice.roster_items()

    async def assert_unchanged(self):
        self.assertEqual(await self.roster_state(), self.roster_before)
        self.assertTrue(self.alice.pushes.empty(), "a refused request was pushed")
        self.assertEqual(await self.vcard_name(self.alice, "alice@localhost"), "Alice Liddell")
        self.assertEqual(await self.private_nick(self.alice), "Alice")

    async def test_unknown_namespace_service_unavailable(self):
        iq = self.alice.make_iq_get(ito=DOMAIN)
        iq.append(ET.Element("{urn:example:no-such-protocol}query"))
        error = await self.iq_error(iq.send(timeout=TIMEOUT), "service-unavailable")
        self.assertEqual(error["error"]["type"], "cancel", error)
        await self.assert_unchanged()

    async def test_private_get_without_element_bad_request(self):
        # XEP-0049 §3: a get names exactly one element to retrieve.
        iq = self.alice.make_iq_get()
        iq.append(ET.Element(f"{{{PRIVATE_NS}}}query"))
        error = await self.iq_error(iq.send(timeout=TIMEOUT), "bad-request")
        self.assertEqual(error["error"]["type"], "modify", error)
        await self.assert_unchanged()

    async def test_roster_item_with_invalid_jid_bad_request(self):
        error = await self.iq_error(self.alice.roster_set("jid='bad@@jid@localhost' name='Nobody'/>"),
                                    "bad-request")
        self.assertEqual(error["error"]["type"], "modify", error)
        await self.assert_unchanged()

    async def test_oversized_vcard_not_acceptable(self):
        # Over the shipped limit of 64 KiB, within the 256 KiB stanza limit.
        big = self.vcard(self.alice, "Big Alice", "x" * (70 * 1024))
        await self.iq_error(self.alice["xep_0054"].publish_vcard(big, timeout=TIMEOUT), "not-acceptable")
        await self.assert_unchanged()


if __name__ == "__main__":
    unittest.main()

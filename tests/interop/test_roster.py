"""The roster (RFC 6121 §2, XEP-0237 versioning) through slixmpp against the real xmppd.

Run with Debian's interpreter, which has slixmpp:
    /usr/bin/python3 -m unittest -v test_roster      (from tests/interop/)

ImClient and ImTestCase are shared with test_presence. Nothing sleeps: tests await
slixmpp events and queues, each bounded by harness.TIMEOUT.
"""

import asyncio
import logging
import os
import unittest

import slixmpp
from slixmpp.exceptions import IqError

import harness
from harness import DOMAIN, TIMEOUT

ALICE = ("alice@localhost", "alice-secret")
BOB = ("bob@localhost", "bob-secret")
CAROL = ("carol@localhost", "carol-secret")
ROSTER_NS = "jabber:iq:roster"

# The harness writes `[hosts."localhost"]` last, so keys before any table header land there.
IM_MODULES = 'modules = ["roster", "presence"]\n'

if os.environ.get("INTEROP_DEBUG"):
    logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
else:
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)


class ImClient(slixmpp.ClientXMPP):
    """A slixmpp client that queues what it receives; subscriptions are never automatic."""

    def __init__(self, jid, password, ca_file, request_roster=True, available=True, plugins=()):
        super().__init__(jid, password)
        for plugin in plugins:
            self.register_plugin(plugin)
        self.ca_certs = ca_file
        self.use_ipv6 = False
        self.use_aiodns = False
        self.whitespace_keepalive = False
        self.auto_authorize = None    # the test answers subscription requests itself
        self.auto_subscribe = False
        self.request_roster = request_roster
        self.available = available
        self.session_started = asyncio.Event()
        self.ended = asyncio.Event()
        self.pushes = asyncio.Queue()     # roster pushes (iq set)
        self.presences = []               # every presence stanza not yet expected
        self.presence_arrived = asyncio.Event()
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("disconnected", lambda _: self.ended.set())
        self.add_event_handler("connection_failed", lambda _: self.ended.set())
        self.add_event_handler("roster_update", self._on_roster_update)
        self.add_event_handler("presence", self._on_presence)

    async def _on_session_start(self, _):
        if self.request_roster:
            await self.get_roster(timeout=TIMEOUT)
        if self.available:
            self.send_presence()
        self.session_started.set()

    def _on_presence(self, presence):
        self.presences.append(presence)
        self.presence_arrived.set()

    def _on_roster_update(self, iq):
        if iq["type"] == "set":
            self.pushes.put_nowait(iq)

    async def roster_query(self, ver=None):
        """A raw roster get; the <query/> element of the result, or None if it had none."""
        iq = self.Iq()
        iq["type"] = "get"
        query = iq.enable("roster")
        if ver is not None:
            query.xml.set("ver", ver)
        reply = await iq.send(timeout=TIMEOUT)
        return reply.xml.find(f"{{{ROSTER_NS}}}query")

    async def roster_items(self):
        """{bare JID: {subscription, ask, approved, name, groups}} as the server has it."""
        iq = self.Iq()
        iq["type"] = "get"
        iq.enable("roster")
        reply = await iq.send(timeout=TIMEOUT)
        return {str(jid): dict(item) for jid, item in reply["roster"]["items"].items()}

    async def roster_set(self, *items_xml):
        """Sends a roster set with the given <item/> XML strings; returns the reply."""
        iq = self.Iq()
        iq["type"] = "set"
        query = iq.enable("roster")
        from xml.etree import ElementTree as ET
        for text in items_xml:
            query.xml.append(ET.fromstring(f"<item xmlns='{ROSTER_NS}' {text}"))
        return await iq.send(timeout=TIMEOUT)

    async def barrier(self):
        """One round trip: the server handled everything this stream sent before it."""
        iq = self.Iq()
        iq["type"] = "set"
        iq.enable("session")
        await iq.send(timeout=TIMEOUT)

    async def next_push(self, jid):
        """The next roster push; it must be about `jid`. Returns (item dict, ver)."""
        try:
            iq = await asyncio.wait_for(self.pushes.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.boundjid}: no roster push within {TIMEOUT}s") from None
        items = iq["roster"]["items"]
        assert list(map(str, items)) == [jid], f"{self.boundjid}: push about {list(items)}, not {jid}"
        assert iq["from"].full in ("", self.boundjid.bare), iq
        return dict(items[slixmpp.JID(jid)]), iq["roster"]["ver"]

    async def expect_presence(self, ptype, from_jid):
        """Waits for a presence of `ptype` ("available", "unavailable", "subscribe", ...)
        from `from_jid` (compared in full), received since the last one expected or later;
        it is taken out of `presences`. Order is not checked: stanzas routed through
        different server paths may overtake each other."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while True:
            for p in self.presences:
                if p["type"] == ptype and p["from"].full == from_jid:
                    self.presences.remove(p)
                    return p
            self.presence_arrived.clear()
            try:
                await asyncio.wait_for(self.presence_arrived.wait(), deadline - loop.time())
            except asyncio.TimeoutError:
                seen = [(p["type"], p["from"].full) for p in self.presences]
                raise AssertionError(f"{self.boundjid}: no {ptype} presence from {from_jid}; "
                                     f"saw {seen}") from None


class ImTestCase(harness.ServerTestCase, unittest.IsolatedAsyncioTestCase):
    """Starts xmppd with the roster and presence modules and alice, bob and carol."""

    extra_toml = ""

    async def asyncSetUp(self):
        asyncio.get_running_loop().slow_callback_duration = 5.0
        self.server = self.start_server(extra_toml=IM_MODULES + self.extra_toml)
        for user in (ALICE, BOB, CAROL):
            self.server.add_user(*user)

    async def login(self, account, resource, **kwargs):
        jid, password = account
        client = ImClient(f"{jid}/{resource}", password, self.server.ca_file, **kwargs)
        client.default_port = self.server.port("starttls")
        client.connect(("localhost", client.default_port))
        self.addAsyncCleanup(self._drop, client)
        started = asyncio.ensure_future(client.session_started.wait())
        ended = asyncio.ensure_future(client.ended.wait())
        done, pending = await asyncio.wait({started, ended}, timeout=TIMEOUT,
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        self.assertTrue(client.session_started.is_set(), f"{jid}/{resource}: no session")
        await client.barrier()  # initial presence processed
        return client

    async def _drop(self, client):
        client.cancel_connection_attempt()
        if client.transport is not None:
            client.abort()

    async def close(self, client):
        await asyncio.wait_for(client.disconnect(wait=TIMEOUT), TIMEOUT + 5)

    def assert_error(self, raised, condition):
        self.assertEqual(raised.exception.iq["error"]["condition"], condition, raised.exception.iq)


class RosterManagement(ImTestCase):
    """Adding, updating and removing items; pushes to interested resources only."""

    async def test_add_update_remove(self):
        phone = await self.login(ALICE, "phone")
        laptop = await self.login(ALICE, "laptop")
        # Never asked for the roster: not an interested resource (RFC 6121 §2.1.6).
        bot = await self.login(ALICE, "bot", request_roster=False)

        await phone.roster_set("jid='bob@localhost' name='Bob'><group>Friends</group><group>Work</group></item>")
        for client in (phone, laptop):
            item, ver = await client.next_push("bob@localhost")
            self.assertEqual(item["subscription"], "none")
            self.assertEqual(item["name"], "Bob")
            self.assertEqual(sorted(item["groups"]), ["Friends", "Work"])
            self.assertTrue(ver)
        items = await laptop.roster_items()
        self.assertEqual(list(items), ["bob@localhost"])
        self.assertEqual(items["bob@localhost"]["name"], "Bob")

        await laptop.roster_set("jid='bob@localhost' name='Robert'/>")
        item, _ = await phone.next_push("bob@localhost")
        self.assertEqual((item["name"], item["groups"]), ("Robert", []))
        await laptop.next_push("bob@localhost")

        await phone.roster_set("jid='bob@localhost' subscription='remove'/>")
        for client in (phone, laptop):
            item, _ = await client.next_push("bob@localhost")
            self.assertEqual(item["subscription"], "remove")
        self.assertEqual(await phone.roster_items(), {})

        await bot.barrier()
        self.assertTrue(bot.pushes.empty(), "a resource that never requested the roster got pushes")

    async def test_removing_an_unknown_item(self):
        alice = await self.login(ALICE, "phone")
        with self.assertRaises(IqError) as raised:
            await alice.roster_set("jid='nobody@localhost' subscription='remove'/>")
        self.assert_error(raised, "item-not-found")

    async def test_another_users_roster_is_forbidden(self):
        alice = await self.login(ALICE, "phone")
        iq = alice.Iq()
        iq["type"] = "get"
        iq["to"] = "bob@localhost"
        iq.enable("roster")
        with self.assertRaises(IqError) as raised:
            await iq.send(timeout=TIMEOUT)
        self.assert_error(raised, "forbidden")


class RosterValidation(ImTestCase):
    """Malformed roster sets are refused and change nothing (RFC 6121 §2.3.3)."""

    async def test_malformed_sets(self):
        alice = await self.login(ALICE, "phone")
        await alice.roster_set("jid='carol@localhost'/>")
        await alice.next_push("carol@localhost")
        before = await alice.roster_query()
        cases = [
            ("bad-request", ["jid='bob@localhost'/>", "jid='dave@localhost'/>"]),  # two items
            ("bad-request", ["jid='bad@@jid@localhost'/>"]),
            ("bad-request", ["jid='bob@localhost'><group>A</group><group>A</group></item>"]),
            ("not-acceptable", ["jid='bob@localhost'><group></group></item>"]),
            ("not-allowed", ["jid='alice@localhost'/>"]),
        ]
        for condition, items in cases:
            with self.subTest(items=items):
                with self.assertRaises(IqError) as raised:
                    await alice.roster_set(*items)
                self.assert_error(raised, condition)
        after = await alice.roster_query()
        self.assertEqual(after.get("ver"), before.get("ver"), "a refused set changed the roster version")
        self.assertEqual(list(await alice.roster_items()), ["carol@localhost"])
        self.assertTrue(alice.pushes.empty(), "a refused set was pushed")

    async def test_subscription_values_other_than_remove_are_ignored(self):
        alice = await self.login(ALICE, "phone")
        await alice.roster_set("jid='bob@localhost' subscription='both'/>")
        item, _ = await alice.next_push("bob@localhost")
        self.assertEqual(item["subscription"], "none")


class RosterLimit(ImTestCase):
    """[modules.roster] max_items bounds a roster."""

    extra_toml = "[modules.roster]\nmax_items = 2\n"

    async def test_limit(self):
        alice = await self.login(ALICE, "phone")
        await alice.roster_set("jid='bob@localhost'/>")
        await alice.roster_set("jid='carol@localhost'/>")
        with self.assertRaises(IqError) as raised:
            await alice.roster_set("jid='dave@localhost'/>")
        self.assert_error(raised, "not-allowed")
        await alice.roster_set("jid='bob@localhost' name='Still editable'/>")
        self.assertEqual(sorted(await alice.roster_items()), ["bob@localhost", "carol@localhost"])


class RosterVersioning(ImTestCase):
    """XEP-0237: the stream feature, and an empty result when the client is current."""

    async def test_versioning(self):
        alice = await self.login(ALICE, "phone")
        self.assertIn("rosterver", alice.features)
        await alice.roster_set("jid='bob@localhost'/>")
        _, ver = await alice.next_push("bob@localhost")
        full = await alice.roster_query(ver="")
        self.assertEqual(full.get("ver"), ver)
        self.assertEqual(len(full), 1)
        await self.close(alice)

        again = await self.login(ALICE, "tablet", request_roster=False)
        self.assertIsNone(await again.roster_query(ver=ver), "current version: expected no <query/>")
        await again.roster_set("jid='carol@localhost'/>")
        _, newer = await again.next_push("carol@localhost")
        self.assertNotEqual(newer, ver)
        stale = await again.roster_query(ver=ver)
        self.assertEqual(stale.get("ver"), newer)
        self.assertEqual(len(stale), 2)

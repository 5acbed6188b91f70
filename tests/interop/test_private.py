"""XEP-0049 Private XML Storage (modules/private) with slixmpp against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_private
"""

import asyncio
import unittest
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, SlixmppTestCase

PRIVATE = "jabber:iq:private"
PREFS = "urn:example:prefs"


def modules_toml(settings=""):
    # Appended after [hosts."localhost"]: the bare key enables the module on that host.
    return 'modules = ["private"]\n\n' + settings


def prefs(nick):
    element = ET.Element(f"{{{PREFS}}}prefs")
    ET.SubElement(element, f"{{{PREFS}}}nick").text = nick
    return element


class PrivateTestCase(SlixmppTestCase):

    def request(self, client, kind, payload, to=None):
        iq = client.make_iq_set() if kind == "set" else client.make_iq_get()
        if to:
            iq["to"] = to
        query = ET.Element(f"{{{PRIVATE}}}query")
        for element in payload:
            query.append(element)
        iq.append(query)
        return iq.send(timeout=TIMEOUT)

    async def stored_nick(self, client):
        reply = await self.request(client, "get", [ET.Element(f"{{{PREFS}}}prefs")])
        stored = reply.xml.find(f"{{{PRIVATE}}}query/{{{PREFS}}}prefs")
        self.assertIsNotNone(stored, reply)
        nick = stored.find(f"{{{PREFS}}}nick")
        return None if nick is None else nick.text

    async def assert_error(self, awaitable, condition):
        with self.assertRaises(IqError) as raised:
            await awaitable
        self.assertEqual(raised.exception.iq["error"]["condition"], condition, raised.exception.iq)


class StoreAndRetrieve(PrivateTestCase):
    """What an account stores, it gets back, across restarts."""

    async def test_round_trip(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        self.assertIsNone(await self.stored_nick(alice))  # nothing stored: the empty element

        await self.request(alice, "set", [prefs("Alice ✓ <&>")])
        self.assertEqual(await self.stored_nick(alice), "Alice ✓ <&>")
        await self.request(alice, "set", [prefs("Queen Alice")])
        self.assertEqual(await self.stored_nick(alice), "Queen Alice")

        await asyncio.to_thread(server.stop)
        server.start()
        alice = await self.login(server, "alice@localhost/again", ALICE[1])
        self.assertEqual(await self.stored_nick(alice), "Queen Alice")


class Refusals(PrivateTestCase):
    """Other accounts, reserved namespaces and oversized data are refused; nothing changes."""

    async def test_other_users_storage_forbidden(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        await self.request(alice, "set", [prefs("Alice")])
        await self.assert_error(self.request(bob, "get", [ET.Element(f"{{{PREFS}}}prefs")], to="alice@localhost"),
                                "forbidden")
        await self.assert_error(self.request(bob, "set", [prefs("Mallory")], to="alice@localhost"), "forbidden")
        self.assertEqual(await self.stored_nick(alice), "Alice")
        self.assertIsNone(await self.stored_nick(bob))

    async def test_reserved_namespace_and_empty_query_not_acceptable(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        await self.assert_error(self.request(alice, "set", [ET.Element("{jabber:iq:roster}query")]),
                                "not-acceptable")
        await self.assert_error(self.request(alice, "set", [ET.Element("{vcard-temp}vCard")]), "not-acceptable")
        await self.assert_error(self.request(alice, "set", []), "not-acceptable")
        await self.assert_error(self.request(alice, "get", []), "bad-request")

    async def test_over_quota_not_acceptable(self):
        server = self.start_server_with_users(extra_toml=modules_toml("[modules.private]\nmax_bytes = 1024\n"))
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        await self.request(alice, "set", [prefs("Alice")])
        await self.assert_error(self.request(alice, "set", [prefs("x" * 2000)]), "not-acceptable")
        self.assertEqual(await self.stored_nick(alice), "Alice")


if __name__ == "__main__":
    unittest.main()

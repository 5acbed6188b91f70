"""XEP-0054 vcard-temp (modules/vcard) with slixmpp against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_vcard
"""

import asyncio
import unittest
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError

from test_slixmpp import ALICE, BOB, SlixmppTestCase


def modules_toml(settings=""):
    # Appended after [hosts."localhost"]: the bare key enables the module on that host.
    return 'modules = ["vcard"]\n\n' + settings


class VcardTestCase(SlixmppTestCase):

    async def login_with_vcard(self, server, jid, password):
        client = await self.login(server, jid, password)
        client.register_plugin("xep_0054")
        return client

    def vcard(self, client, full_name, description=""):
        card = client["xep_0054"].make_vcard()
        card["FN"] = full_name
        card["NICKNAME"] = full_name.split()[0]
        if description:
            card["DESC"] = description
        return card

    async def get(self, client, jid):
        reply = await client["xep_0054"].get_vcard(jid, cached=False)
        return reply["vcard_temp"]

    async def assert_error(self, awaitable, condition):
        with self.assertRaises(IqError) as raised:
            await awaitable
        self.assertEqual(raised.exception.iq["error"]["condition"], condition, raised.exception.iq)


class SetAndGet(VcardTestCase):
    """The owner sets; the owner and others read back what was stored."""

    async def test_round_trip(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_vcard(server, "alice@localhost/wonderland", ALICE[1])
        bob = await self.login_with_vcard(server, "bob@localhost/laptop", BOB[1])

        # No vCard yet: the owner gets an empty one, others item-not-found.
        empty = await self.get(alice, "alice@localhost")
        self.assertEqual(list(empty.xml), [], empty)
        await self.assert_error(self.get(bob, "alice@localhost"), "item-not-found")

        await alice["xep_0054"].publish_vcard(self.vcard(alice, "Alice Liddell ✓ <&>"), timeout=15)
        own = await self.get(alice, "alice@localhost")
        self.assertEqual(own["FN"], "Alice Liddell ✓ <&>")
        self.assertEqual(own["NICKNAME"], ["Alice"])
        seen_by_bob = await self.get(bob, "alice@localhost")
        self.assertEqual(seen_by_bob["FN"], "Alice Liddell ✓ <&>")

        # A new set replaces the whole vCard.
        await alice["xep_0054"].publish_vcard(self.vcard(alice, "Alice Pleasance"), timeout=15)
        self.assertEqual((await self.get(bob, "alice@localhost"))["FN"], "Alice Pleasance")

    async def test_stored_across_restart(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_vcard(server, "alice@localhost/wonderland", ALICE[1])
        await alice["xep_0054"].publish_vcard(self.vcard(alice, "Alice Liddell"), timeout=15)
        await asyncio.to_thread(server.stop)
        server.start()
        bob = await self.login_with_vcard(server, "bob@localhost/laptop", BOB[1])
        self.assertEqual((await self.get(bob, "alice@localhost"))["FN"], "Alice Liddell")


class Refusals(VcardTestCase):
    """Bad sets are refused and change nothing."""

    async def test_oversized_vcard_not_acceptable(self):
        server = self.start_server_with_users(extra_toml=modules_toml("[modules.vcard]\nmax_bytes = 1024\n"))
        alice = await self.login_with_vcard(server, "alice@localhost/wonderland", ALICE[1])
        await alice["xep_0054"].publish_vcard(self.vcard(alice, "Alice Liddell"), timeout=15)
        await self.assert_error(
            alice["xep_0054"].publish_vcard(self.vcard(alice, "Big Alice", "x" * 2000), timeout=15),
            "not-acceptable")
        self.assertEqual((await self.get(alice, "alice@localhost"))["FN"], "Alice Liddell")

    async def test_setting_another_users_vcard_forbidden(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_vcard(server, "alice@localhost/wonderland", ALICE[1])
        bob = await self.login_with_vcard(server, "bob@localhost/laptop", BOB[1])
        await alice["xep_0054"].publish_vcard(self.vcard(alice, "Alice Liddell"), timeout=15)
        await self.assert_error(
            bob["xep_0054"].publish_vcard(self.vcard(bob, "Mallory"), jid="alice@localhost", timeout=15),
            "forbidden")
        self.assertEqual((await self.get(bob, "alice@localhost"))["FN"], "Alice Liddell")


if __name__ == "__main__":
    unittest.main()


class AvatarHash(VcardTestCase):
    """XEP-0153: the server adds the SHA-1 of the vCard photo to the owner's presence."""

    async def test_photo_hash_in_broadcast_presence(self):
        import hashlib

        server = self.start_server_with_users(
            extra_toml='modules = ["roster", "presence", "vcard"]\n')
        photo = bytes(range(256)) * 4
        first = await self.login_with_vcard(server, "alice@localhost/first", ALICE[1])
        card = self.vcard(first, "Alice Liddell")
        card["PHOTO"]["TYPE"] = "image/png"
        card["PHOTO"]["BINVAL"] = photo
        await first["xep_0054"].publish_vcard(card, timeout=15)

        # Her second resource sees the first one's presence, as every own resource does.
        second = await self.login(server, "alice@localhost/second", ALICE[1])
        seen = asyncio.Queue()
        second.add_event_handler(
            "presence", lambda p: seen.put_nowait(p) if p["from"] == "alice@localhost/first" else None)
        first.send_presence(pstatus="with avatar")
        while True:
            presence = await asyncio.wait_for(seen.get(), 15)
            if presence["status"] == "with avatar":
                break
        found = presence.xml.find("{vcard-temp:x:update}x/{vcard-temp:x:update}photo")
        self.assertIsNotNone(found, presence)
        self.assertEqual(found.text, hashlib.sha1(photo).hexdigest())

    async def test_photo_hash_in_a_room_occupants_presence(self):
        import hashlib

        server = self.start_server_with_users(
            extra_toml='modules = ["roster", "presence", "disco", "vcard", "muc"]\n')
        photo = bytes(range(256)) * 2
        alice = await self.login_with_vcard(server, "alice@localhost/desk", ALICE[1])
        card = self.vcard(alice, "Alice Liddell")
        card["PHOTO"]["TYPE"] = "image/png"
        card["PHOTO"]["BINVAL"] = photo
        await alice["xep_0054"].publish_vcard(card, timeout=15)
        bob = await self.login(server, "bob@localhost/home", BOB[1])
        seen = asyncio.Queue()
        bob.add_event_handler("presence", lambda p: seen.put_nowait(p) if p["from"].resource == "Alice" else None)
        room = "tea@conference.localhost"
        # Bob makes the room (an instant room: the default configuration accepted).
        create = bob.make_presence(pto=f"{room}/Bob")
        ET.SubElement(create.xml, "{http://jabber.org/protocol/muc}x")
        create.send()
        instant = bob.make_iq_set(ito=room)
        query = ET.SubElement(instant.xml, "{http://jabber.org/protocol/muc#owner}query")
        ET.SubElement(query, "{jabber:x:data}x", {"type": "submit"})
        await instant.send(timeout=15)
        # Alice's client sends a plain join, without the avatar hash: the server adds it, and
        # the room passes it on with her occupant presence.
        join = alice.make_presence(pto=f"{room}/Alice")
        ET.SubElement(join.xml, "{http://jabber.org/protocol/muc}x")
        join.send()
        presence = await asyncio.wait_for(seen.get(), 15)
        found = presence.xml.find("{vcard-temp:x:update}x/{vcard-temp:x:update}photo")
        self.assertIsNotNone(found, presence)
        self.assertEqual(found.text, hashlib.sha1(photo).hexdigest())


if __name__ == "__main__":
    unittest.main()

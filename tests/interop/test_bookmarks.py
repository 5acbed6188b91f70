"""Bookmarks, old and new (XEP-0402 §5.3 #compat), against the real xmppd: an old client
keeps XEP-0048 bookmarks in private storage through slixmpp's xep_0048 plugin, a new one
keeps XEP-0402 items in PEP (xep_0060 with the XEP's publish-options); each sees what the
other stored, the new one is notified, and nobody else reads them.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_bookmarks
"""

import unittest
import xml.etree.ElementTree as ET

from slixmpp.plugins.xep_0048.stanza import Bookmarks

from harness import TIMEOUT
from test_pep import PepTestCase, PLUGINS
from test_roster import ALICE, BOB

BOOKMARKS = "urn:xmpp:bookmarks:1"
OPTIONS = {"pubsub#persist_items": "true", "pubsub#max_items": "max",
           "pubsub#send_last_published_item": "never", "pubsub#access_model": "whitelist"}


def conference(name, nick=None, autojoin=False):
    c = ET.Element(f"{{{BOOKMARKS}}}conference", {"name": name, "autojoin": "true" if autojoin else "false"})
    if nick:
        ET.SubElement(c, f"{{{BOOKMARKS}}}nick").text = nick
    return c


class Compat(PepTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.server.stop()
        self.server = self.start_server(
            extra_toml='modules = ["roster", "presence", "disco", "private", "pep"]\n')
        for user in (ALICE, BOB):
            self.server.add_user(*user)

    async def legacy(self, client):
        reply = await client["xep_0048"].get_bookmarks(method="xep_0049", timeout=TIMEOUT)
        storage = reply["private"]["bookmarks"]
        conferences = {str(c["jid"]): (c["name"], c["nick"], c["autojoin"]) for c in storage["conferences"]}
        return conferences, [u["url"] for u in storage["urls"]]

    async def pep_items(self, client, owner=None):
        items = await self.items(client, owner, BOOKMARKS)
        out = {}
        for item in items:
            c = item.find(f"{{{BOOKMARKS}}}conference")
            out[item.get("id")] = (c.get("name"), c.findtext(f"{{{BOOKMARKS}}}nick"), c.get("autojoin"))
        return out

    async def test_old_and_new_clients_share_bookmarks(self):
        old = await self.login(ALICE, "old", plugins=PLUGINS + ("xep_0048",))
        new = await self.pep_login(ALICE, "new", interests=(BOOKMARKS,))
        self.assertIn(f"{BOOKMARKS}#compat",
                      (await new["xep_0030"].get_info(jid="alice@localhost", timeout=TIMEOUT))["disco_info"]["features"])

        # The old client stores two rooms and a web page in private storage.
        bookmarks = Bookmarks()
        bookmarks.add_conference("tea@conference.localhost", "ally", name="Tea", autojoin=True)
        bookmarks.add_conference("work@conference.localhost", "alice", name="Work")
        bookmarks.add_url("https://example.org/", name="Example")
        await old["xep_0048"].set_bookmarks(bookmarks, method="xep_0049", timeout=TIMEOUT)
        # The new client is told of each, and finds them in PEP.
        told = {(await self.next_event(new))["pubsub_event"]["items"]["item"]["id"] for _ in range(2)}
        self.assertEqual(told, {"tea@conference.localhost", "work@conference.localhost"})
        self.assertEqual(await self.pep_items(new), {
            "tea@conference.localhost": ("Tea", "ally", "true"),
            "work@conference.localhost": ("Work", "alice", "false")})

        # The new client adds a room and removes one; the old client sees both changes, and
        # its web page is kept.
        await self.publish(new, BOOKMARKS, conference("Games", nick="al"), item_id="games@conference.localhost",
                           options=OPTIONS)
        iq = new.make_iq_set()
        pubsub = ET.SubElement(iq.xml, "{http://jabber.org/protocol/pubsub}pubsub")
        retract = ET.SubElement(pubsub, "{http://jabber.org/protocol/pubsub}retract", {"node": BOOKMARKS})
        ET.SubElement(retract, "{http://jabber.org/protocol/pubsub}item", {"id": "work@conference.localhost"})
        await iq.send(timeout=TIMEOUT)
        own = [await self.next_event(new) for _ in range(2)]  # its own changes, told to it too
        self.assertIsNotNone(own[1].xml.find(".//{http://jabber.org/protocol/pubsub#event}retract"))
        conferences, urls = await self.legacy(old)
        self.assertEqual(conferences, {"tea@conference.localhost": ("Tea", "ally", True),
                                       "games@conference.localhost": ("Games", "al", False)})
        self.assertEqual(urls, ["https://example.org/"])

        # The old client stores a list without Tea: the new client is told it went.
        bookmarks = Bookmarks()
        bookmarks.add_conference("games@conference.localhost", "al", name="Games")
        await old["xep_0048"].set_bookmarks(bookmarks, method="xep_0049", timeout=TIMEOUT)
        while True:  # Games is unchanged, so at most told again; then Tea's retraction
            event = await self.next_event(new)
            retracted = event.xml.find(".//{http://jabber.org/protocol/pubsub#event}retract")
            if retracted is not None:
                break
            self.assertEqual(event["pubsub_event"]["items"]["item"]["id"], "games@conference.localhost")
        self.assertEqual(retracted.get("id"), "tea@conference.localhost")
        self.assertEqual(set(await self.pep_items(new)), {"games@conference.localhost"})

    async def test_others_cannot_read_bookmarks(self):
        alice = await self.pep_login(ALICE, "new", interests=(BOOKMARKS,))
        bob = await self.pep_login(BOB, "desk", interests=(BOOKMARKS,))
        await self.subscribe(bob, alice)
        await self.subscribe(alice, bob)
        await self.publish(alice, BOOKMARKS, conference("Secret"), item_id="secret@conference.localhost",
                           options=OPTIONS)
        await self.next_event(alice)  # her own resource hears of it
        self.assertEqual(await self.refused(self.items(bob, "alice@localhost", BOOKMARKS)), ("not-allowed", "closed-node"))
        self.assertTrue(bob.events.empty(), "a contact was told of Alice's bookmarks")


if __name__ == "__main__":
    unittest.main()

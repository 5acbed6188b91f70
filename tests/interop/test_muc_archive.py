"""The room archive (modules/muc with the archive engine of modules/mam): XEP-0313 at a
persistent room's JID, join history from the archive across restarts, XEP-0424 retraction
by occupants and XEP-0425 moderation, with slixmpp against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_muc_archive
"""

import asyncio
import unittest
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import TIMEOUT
from muc_support import MucClient, MucTestCase, room_jid
from test_mam import MAM, MODERATE_NS, RETRACT, SID, MamClient, bodies, forwarded


class ArchiveMucClient(MucClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.results = {}
        self.register_handler(Callback(
            "mam results", MatchXPath(f"{{jabber:client}}message/{{{MAM}}}result"), self._on_result))

    _on_result = MamClient._on_result
    query = MamClient.query

    async def moderate(self, room, stanza_id, reason):
        iq = self.make_iq_set(ito=room)
        m = ET.SubElement(iq.xml, f"{{{MODERATE_NS}}}moderate", {"id": stanza_id})
        ET.SubElement(m, f"{{{RETRACT}}}retract")
        ET.SubElement(m, f"{{{MODERATE_NS}}}reason").text = reason
        return await iq.send(timeout=TIMEOUT)

    def retract(self, room, stanza_id):
        m = self.make_message(mto=room, mtype="groupchat", mbody="retracted")
        ET.SubElement(m.xml, f"{{{RETRACT}}}retract", {"id": stanza_id})
        m.send()


def room_stanza_id(message, room):
    for e in message.xml.findall(f"{{{SID}}}stanza-id"):
        if e.get("by") == room:
            return e.get("id")
    return None


class RoomArchive(MucTestCase):

    async def connect(self, server, name, resource="res"):
        client = ArchiveMucClient(f"{name}@localhost/{resource}", {"alice": "alice-secret", "bob": "bob-secret",
                                  "carol": "carol-secret", "dave": "dave-secret"}[name], server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{name}: no session")
        await client.barrier()
        return client

    async def persistent_room(self, server, name, **config):
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room = room_jid(name)
        await alice.instant_room(room, "Alice")
        await alice.configure(room, persistentroom="1", **config)
        await bob.join(room, "Bob")
        return alice, bob, room

    async def say(self, sender, listeners, room, body):
        sender.send_message(mto=room, mbody=body, mtype="groupchat")
        copies = [await c.groupchat_body(room, body) for c in listeners]
        return copies

    async def test_archive_and_join_history_survive_restart(self):
        server = self.start_muc_server()
        alice, bob, room = await self.persistent_room(server, "history")
        info = await bob["xep_0030"].get_info(jid=room, timeout=TIMEOUT)
        self.assertIn(MAM, info["disco_info"]["features"])
        ids = []
        for body in ("one", "two", "three"):
            copies = await self.say(alice, [alice, bob], room, body)
            self.assertEqual(room_stanza_id(copies[0], room), room_stanza_id(copies[1], room))
            ids.append(room_stanza_id(copies[1], room))
        results, fin = await bob.query(to=room)
        self.assertEqual(bodies(results), ["one", "two", "three"])
        self.assertEqual([r.get("id") for r in results], ids)
        self.assertEqual(forwarded(results[0]).get("from"), f"{room}/Alice")
        by_nick, _ = await bob.query(to=room, fields={"with": f"{room}/Alice"})
        self.assertEqual(len(by_nick), 3)

        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        carol = await self.connect(server, "carol")
        _, _, _, history = await carol.join(room, "Carol")
        self.assertEqual([m["body"] for m in history], ["one", "two", "three"])
        again, _ = await carol.query(to=room)
        self.assertEqual([r.get("id") for r in again], ids)

    async def test_moderator_retracts_anyones_message(self):
        server = self.start_muc_server()
        alice, bob, room = await self.persistent_room(server, "moderated")
        spam = await self.say(bob, [alice, bob], room, "buy cheap watches")
        spam_id = room_stanza_id(spam[0], room)
        await self.say(bob, [alice, bob], room, "sorry")

        # Bob is a participant, not a moderator.
        self.assertEqual(await bob.iq_error(bob.moderate(room, spam_id, "mine")), "forbidden")
        await alice.moderate(room, spam_id, "Spam")
        for client in (alice, bob):
            notice = await client.message_from(room, lambda m: m.xml.find(f"{{{RETRACT}}}retract") is not None,
                                               "moderation notice")
            retract = notice.xml.find(f"{{{RETRACT}}}retract")
            self.assertEqual(retract.get("id"), spam_id)
            self.assertEqual(retract.find(f"{{{MODERATE_NS}}}moderated").get("by"), f"{room}/Alice")
            self.assertEqual(retract.findtext(f"{{{MODERATE_NS}}}reason"), "Spam")
        archived, _ = await bob.query(to=room)
        text = "".join(ET.tostring(r, encoding="unicode") for r in archived)
        self.assertNotIn("cheap watches", text)
        tomb = forwarded(archived[0]).find(f"{{{RETRACT}}}retracted")
        self.assertIsNotNone(tomb)
        self.assertIsNotNone(tomb.find(f"{{{MODERATE_NS}}}moderated"))
        # A newcomer's history no longer has it.
        carol = await self.connect(server, "carol")
        _, _, _, history = await carol.join(room, "Carol")
        self.assertNotIn("buy cheap watches", [m["body"] for m in history])
        self.assertIn("sorry", [m["body"] for m in history])
        self.assertEqual(await alice.iq_error(alice.moderate(room, "12345", "gone")), "item-not-found")

    async def test_occupants_retract_only_their_own(self):
        server = self.start_muc_server()
        alice, bob, room = await self.persistent_room(server, "retractions")
        carol = await self.connect(server, "carol")
        await carol.join(room, "Carol")
        mine = await self.say(bob, [alice, bob, carol], room, "typo")
        mine_id = room_stanza_id(mine[0], room)
        carol.retract(room, mine_id)
        error = await carol.messages.take(lambda m: m["type"] == "error", "error")
        self.assertEqual(error["error"]["condition"], "forbidden")
        bob.retract(room, mine_id)
        for client in (alice, carol):
            got = await client.message_from(f"{room}/Bob", lambda m: m.xml.find(f"{{{RETRACT}}}retract") is not None,
                                            "retraction")
            self.assertEqual(got.xml.find(f"{{{RETRACT}}}retract").get("id"), mine_id)
        archived, _ = await alice.query(to=room)
        self.assertNotIn("typo", bodies(archived))
        self.assertIsNotNone(forwarded(archived[0]).find(f"{{{RETRACT}}}retracted"))

    async def test_members_only_archive_is_for_members(self):
        server = self.start_muc_server()
        alice, bob, room = await self.persistent_room(server, "private")
        await alice.configure(room, membersonly="1")
        await alice.muc.set_affiliation(room, "member", jid="bob@localhost", timeout=TIMEOUT)
        await self.say(alice, [alice], room, "members only")
        dave = await self.connect(server, "dave")
        with self.assertRaises(Exception) as caught:
            await dave.query(to=room)
        self.assertEqual(caught.exception.iq["error"]["condition"], "forbidden")
        results, _ = await bob.query(to=room)
        self.assertEqual(bodies(results), ["members only"])


if __name__ == "__main__":
    unittest.main()

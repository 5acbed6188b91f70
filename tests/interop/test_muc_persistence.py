"""XEP-0045 persistent rooms (modules/muc): configuration, affiliations and subject
survive a restart of the real xmppd on the same data directory; temporary rooms do not;
occupants hear of the shutdown (status 332).

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_muc_persistence
"""

import asyncio
import unittest

from muc_support import MucTestCase, form_fields, item, room_jid, status_codes


class Restart(MucTestCase):

    async def test_persistent_room_survives_restart(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room, temporary, dropped = room_jid("archive"), room_jid("ephemeral"), room_jid("dropped")

        await alice.instant_room(room, "Alice")
        await alice.configure(room, roomname="The Archive", persistentroom="1", membersonly="1")
        await alice.muc.set_affiliation(room, "member", jid="bob@localhost", timeout=15)
        await alice.muc.set_affiliation(room, "outcast", jid="dave@localhost", timeout=15)
        since = server.log.mark()
        alice.muc.set_subject(room, "Kept across restarts")
        await alice.message_from(f"{room}/Alice", lambda m: m["subject"] == "Kept across restarts", "subject")
        # The subject is written after it was broadcast: wait for the write.
        await self.log_line(server, r"muc: stored room archive@conference\.localhost", since)
        await bob.join(room, "Bob")

        await alice.instant_room(temporary, "Alice")
        # A room made persistent and then temporary again is deleted from storage.
        await alice.instant_room(dropped, "Alice")
        await alice.configure(dropped, persistentroom="1")
        await alice.configure(dropped, persistentroom="0")

        # Shutdown: everyone in a room learns it is out (332).
        await asyncio.to_thread(server.stop)
        for client, nick in ((alice, "Alice"), (bob, "Bob")):
            gone = await client.presence_from(f"{room}/{nick}", type="unavailable", codes=[332, 110])
            self.assertEqual(item(gone)["role"], "none")
        await alice.presence_from(f"{temporary}/Alice", type="unavailable", codes=[332])

        await asyncio.to_thread(server.start)
        self.assertIn("1 persistent room(s)", "\n".join(server.log.matching(r"muc: conference\.localhost serves")))
        alice = await self.connect(server, "alice", "again")
        bob = await self.connect(server, "bob", "again")
        carol = await self.connect(server, "carol")
        dave = await self.connect(server, "dave")

        items = await bob["xep_0030"].get_items(jid="conference.localhost", timeout=15)
        self.assertEqual({(j, n) for j, _, n in items["disco_items"]["items"]}, {(room, "The Archive")})
        for gone_room in (temporary, dropped):
            self.assertEqual(await bob.iq_error(bob["xep_0030"].get_info(jid=gone_room, timeout=15)),
                             "item-not-found")

        # Members, outcasts, the owner and the subject are back.
        presence, subject, occupants, _ = await bob.join(room, "Bob")
        self.assertEqual(item(presence)["affiliation"], "member")
        self.assertNotIn(201, status_codes(presence))
        self.assertEqual(occupants, [])
        self.assertEqual(subject["subject"], "Kept across restarts")
        self.assertEqual(subject["from"].full, f"{room}/Alice")
        self.assertEqual(await carol.join_refused(room, "Carol"), "registration-required")
        self.assertEqual(await dave.join_refused(room, "Dave"), "forbidden")
        form = form_fields(await alice.muc.get_room_config(room, timeout=15))
        self.assertEqual(form["muc#roomconfig_roomname"], "The Archive")
        self.assertEqual(form["muc#roomconfig_persistentroom"], "1")
        self.assertEqual(await alice.muc.get_affiliation_list(room, "member", timeout=15), ["bob@localhost"])

        # Empty, a persistent room stays.
        bob.muc.leave_muc(room, "Bob")
        await bob.presence_from(f"{room}/Bob", type="unavailable", codes=[110])
        info = await carol["xep_0030"].get_info(jid=room, timeout=15)
        self.assertIn("muc_persistent", info["disco_info"]["features"])

        # Destroyed, it is gone for good, also after another restart.
        await alice.muc.destroy(room, timeout=15)
        await asyncio.to_thread(server.stop)
        await asyncio.to_thread(server.start)
        carol = await self.connect(server, "carol", "third")
        self.assertEqual(await carol.iq_error(carol["xep_0030"].get_info(jid=room, timeout=15)),
                         "item-not-found")


if __name__ == "__main__":
    unittest.main()

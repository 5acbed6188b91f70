"""XEP-0045 multi-user chat (modules/muc): discovery, room creation, joining and leaving,
history and subject, nicknames, private messages, invitations and self-ping, with
slixmpp's xep_0045 plugin against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_muc
"""

import asyncio
import datetime
import unittest
import xml.etree.ElementTree as ET

from muc_support import (DELAY, MUC, SERVICE, MucTestCase, error_condition, form_fields, item, room_jid,
                         status_codes)


class Discovery(MucTestCase):
    """§6: the service, its public rooms and each room's features and information."""

    async def test_service_rooms_and_room_info(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        disco = alice["xep_0030"]

        host_items = await disco.get_items(jid="localhost", timeout=15)
        self.assertIn(SERVICE, [i[0] for i in host_items["disco_items"]["items"]])
        info = await disco.get_info(jid=SERVICE, timeout=15)
        self.assertIn(("conference", "text", None, "Chatrooms"), info["disco_info"]["identities"])
        self.assertIn("http://jabber.org/protocol/muc", info["disco_info"]["features"])

        lobby, hidden = room_jid("lobby"), room_jid("hideout")
        await alice.instant_room(lobby, "Alice")
        await alice.configure(lobby, roomname="The Lobby", roomdesc="Come in")
        await alice.instant_room(hidden, "Alice")
        await alice.configure(hidden, publicroom="0")

        items = await disco.get_items(jid=SERVICE, timeout=15)
        listed = {jid: name for jid, _, name in items["disco_items"]["items"]}
        self.assertEqual(listed, {lobby: "The Lobby"})  # the hidden room is not listed

        room_info = (await disco.get_info(jid=lobby, timeout=15))["disco_info"]
        self.assertIn(("conference", "text", None, "The Lobby"), room_info["identities"])
        for feature in ("http://jabber.org/protocol/muc", "muc_public", "muc_temporary", "muc_open",
                        "muc_unmoderated", "muc_semianonymous", "muc_unsecured"):
            self.assertIn(feature, room_info["features"])
        form = form_fields(room_info)
        self.assertEqual(form["FORM_TYPE"], "http://jabber.org/protocol/muc#roominfo")
        self.assertEqual(form["muc#roominfo_description"], "Come in")
        self.assertEqual(form["muc#roominfo_occupants"], "1")
        hidden_info = (await disco.get_info(jid=hidden, timeout=15))["disco_info"]
        self.assertIn("muc_hidden", hidden_info["features"])

        # A room that does not exist.
        self.assertEqual(await alice.iq_error(disco.get_info(jid=room_jid("nowhere"), timeout=15)),
                         "item-not-found")


class Creation(MucTestCase):
    """§10.1: reserved rooms stay locked until configured; cancelling destroys them."""

    async def test_reserved_room_is_locked_until_configured(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room = room_jid("reserved")

        presence, subject, occupants, history = await alice.join(room, "Alice")
        self.assertTrue({110, 201} <= status_codes(presence), presence)
        self.assertEqual(item(presence)["affiliation"], "owner")
        self.assertEqual(item(presence)["role"], "moderator")
        self.assertEqual(subject["subject"], "")  # no subject yet: an empty <subject/>
        self.assertEqual((occupants, history), ([], []))

        # Locked: nobody else may enter, nor even see it.
        self.assertEqual(await bob.join_refused(room, "Bob"), "item-not-found")
        self.assertEqual(await bob.iq_error(bob["xep_0030"].get_info(jid=room, timeout=15)),
                         "item-not-found")

        form = form_fields(await alice.muc.get_room_config(room, timeout=15))
        for field in ("muc#roomconfig_roomname", "muc#roomconfig_persistentroom", "muc#roomconfig_membersonly",
                      "muc#roomconfig_moderatedroom", "muc#roomconfig_passwordprotectedroom",
                      "muc#roomconfig_roomsecret", "muc#roomconfig_whois", "muc#roomconfig_maxusers",
                      "muc#roomconfig_publicroom"):
            self.assertIn(field, form)
        # A value the service cannot accept is refused and changes nothing.
        self.assertEqual(await alice.iq_error(alice.configure(room, maxusers="0")), "not-acceptable")
        self.assertEqual(await alice.iq_error(alice.configure(room, whois="everybody")), "not-acceptable")
        self.assertEqual(await bob.join_refused(room, "Bob"), "item-not-found")

        await alice.configure(room, roomname="Reserved")
        await bob.join(room, "Bob")
        # Only the owner configures.
        self.assertEqual(await bob.iq_error(bob.muc.get_room_config(room, timeout=15)), "forbidden")
        joined = await alice.presence_from(f"{room}/Bob", type="available")
        self.assertEqual(item(joined)["role"], "participant")

    async def test_cancelling_the_initial_configuration_destroys_the_room(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room = room_jid("cancelled")
        await alice.join(room, "Alice")
        await alice.muc.cancel_config(room, timeout=15)
        await alice.presence_from(f"{room}/Alice", type="unavailable")  # told it is out
        # Gone: Bob's join creates a new room, which Bob owns.
        presence, _, occupants, _ = await bob.join(room, "Bob")
        self.assertTrue({110, 201} <= status_codes(presence), presence)
        self.assertEqual(item(presence)["affiliation"], "owner")
        self.assertEqual(occupants, [])

    async def test_creation_restricted_to_admins(self):
        server = self.start_muc_server("[modules.muc]\nrestrict_creation_to_admins = true\n",
                                       admins=["alice@localhost"])
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        self.assertEqual(await bob.join_refused(room_jid("bobs"), "Bob"), "not-allowed")
        await alice.instant_room(room_jid("alices"), "Alice")
        await bob.join(room_jid("alices"), "Bob")  # joining existing rooms stays open

    async def test_creators_list(self):
        server = self.start_muc_server('[modules.muc]\ncreators = ["carol@localhost"]\n')
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        self.assertEqual(await bob.join_refused(room_jid("r"), "Bob"), "not-allowed")
        await carol.instant_room(room_jid("r"), "Carol")


class Conversation(MucTestCase):
    """§7.2-§7.4: occupants, self-presence, history on join, subject, groupchat."""

    async def test_join_history_subject_and_leave(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        room = room_jid("talk")
        await alice.instant_room(room, "Alice")

        # The subject, with an extension of the client's (kept and replayed with it).
        topic = alice.make_message(mto=room, mtype="groupchat", msubject="Tea & <cake>")
        ET.SubElement(topic.xml, "{urn:example:topic}source").text = "the menu"
        topic.send()
        subject = await alice.message_from(f"{room}/Alice", lambda m: m["subject"] == "Tea & <cake>", "subject")
        self.assertEqual(subject["type"], "groupchat")
        for body in ("one", "two", "three"):
            alice.send_message(mto=room, mbody=body, mtype="groupchat")
            reflected = await alice.groupchat_body(room, body)
            self.assertEqual(reflected["from"].full, f"{room}/Alice")

        # Bob asks for two messages of history.
        presence, subject, occupants, history = await bob.join(room, "Bob", maxstanzas=2)
        self.assertIn(110, status_codes(presence))
        self.assertEqual(item(presence)["jid"], bob.boundjid.full)  # one's own real JID
        self.assertEqual(item(presence)["role"], "participant")
        self.assertEqual([p["from"].full for p in occupants], [f"{room}/Alice"])
        # Semi-anonymous: a participant does not see real JIDs.
        self.assertNotIn("jid", item(occupants[0]))
        self.assertEqual(item(occupants[0])["affiliation"], "owner")
        self.assertEqual([m["body"] for m in history], ["two", "three"])
        for m in history:
            self.assertEqual(m["from"].full, f"{room}/Alice")
            delay = m.xml.find(DELAY)
            self.assertEqual(delay.get("from"), room)
            self.assertIsNotNone(delay.get("stamp"))
        self.assertEqual(subject["subject"], "Tea & <cake>")
        self.assertEqual(subject["from"].full, f"{room}/Alice")
        self.assertEqual(subject.xml.findtext("{urn:example:topic}source"), "the menu")
        # join_muc_wait collects history only until the subject arrives: it came first.

        # The moderator sees Bob's real JID.
        bob_seen = await alice.presence_from(f"{room}/Bob", type="available")
        self.assertEqual(item(bob_seen)["jid"], bob.boundjid.full)

        # History limits: none at all, by characters, by time.
        _, _, _, history = await carol.join(room, "Carol", maxchars=0)
        self.assertEqual(history, [])
        carol.muc.leave_muc(room, "Carol")
        await carol.presence_from(f"{room}/Carol", type="unavailable", codes=[110])
        _, _, _, history = await carol.join(room, "Carol", seconds=3600)
        self.assertEqual([m["body"] for m in history], ["one", "two", "three"])
        carol.muc.leave_muc(room, "Carol")
        await carol.presence_from(f"{room}/Carol", type="unavailable", codes=[110])
        future = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
        _, _, _, history = await carol.join(room, "Carol", since=future)
        self.assertEqual(history, [])
        carol.muc.leave_muc(room, "Carol")
        await carol.presence_from(f"{room}/Carol", type="unavailable", codes=[110])
        # One stored message serializes to about 150 characters: 200 hold the last one only.
        _, _, _, history = await carol.join(room, "Carol", maxchars=200)
        self.assertEqual([m["body"] for m in history], ["three"])

        # A participant may not change the subject by default.
        bob.muc.set_subject(room, "Coffee")
        refused = await bob.message_from(room, lambda m: m["type"] == "error", "subject refusal")
        self.assertEqual(error_condition(refused), "forbidden")
        # A subject with a thread is a message about something (§8.1), which he may send.
        about = bob.make_message(mto=room, mtype="groupchat", msubject="Re: tea")
        about["thread"] = "t1"
        about.send()
        got = await alice.message_from(f"{room}/Bob", lambda m: m["subject"] == "Re: tea", "a threaded subject")
        self.assertEqual(got["thread"], "t1")

        # Everyone gets a groupchat message, from the sender's occupant JID, once.
        bob.send_message(mto=room, mbody="hello all", mtype="groupchat")
        for client in (alice, bob, carol):
            got = await client.groupchat_body(room, "hello all")
            self.assertEqual(got["from"].full, f"{room}/Bob")

        # Leaving: the others see unavailable presence, the leaver gets 110.
        bob.muc.leave_muc(room, "Bob", "bye")
        own = await bob.presence_from(f"{room}/Bob", type="unavailable", codes=[110])
        self.assertEqual(own["status"], "bye")
        seen = await alice.presence_from(f"{room}/Bob", type="unavailable")
        self.assertEqual(item(seen)["role"], "none")
        self.assertNotIn(110, status_codes(seen))

        # A non-occupant may not speak (§7.4).
        bob.send_message(mto=room, mbody="from outside", mtype="groupchat")
        refused = await bob.message_from(room, lambda m: m["type"] == "error", "refusal")
        self.assertEqual(error_condition(refused), "not-acceptable")

        # Unavailable sent to the room's bare JID leaves too (what some clients do).
        carol.send_presence(pto=room, ptype="unavailable")
        await carol.presence_from(f"{room}/Carol", type="unavailable", codes=[110])
        await alice.presence_from(f"{room}/Carol", type="unavailable")
        await carol.join(room, "Carol")

        # A temporary room vanishes with its last occupant.
        alice.muc.leave_muc(room, "Alice")
        carol.muc.leave_muc(room, "Carol")
        await carol.presence_from(f"{room}/Carol", type="unavailable", codes=[110])
        await alice.presence_from(f"{room}/Alice", type="unavailable", codes=[110])
        self.assertEqual(await bob.iq_error(bob["xep_0030"].get_info(jid=room, timeout=15)),
                         "item-not-found")

    async def test_nicknames_lose_their_outer_and_repeated_spaces(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        carol = await self.connect(server, "carol")
        room = room_jid("spaces")
        await alice.instant_room(room, "Alice")
        # RFC 8266: " Carol   Lewis " is "Carol Lewis", and the client is told (210).
        carol.send_raw(f"<presence to='{room}/  Carol   Lewis '><x xmlns='{MUC}'/></presence>")
        await carol.presence_from(f"{room}/Carol Lewis", type="available", codes=[110, 210])
        await alice.presence_from(f"{room}/Carol Lewis", type="available")
        # The same nick with other spacing is the same occupant: Alice cannot take it.
        alice.send_raw(f"<presence to='{room}/Carol  Lewis'/>")
        refused = await alice.presence_from(f"{room}/Carol  Lewis", type="error")
        self.assertEqual(error_condition(refused), "conflict")

    async def test_nicknames_are_compared_without_case(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        room = room_jid("cases")
        await alice.instant_room(room, "Alice")
        await bob.join(room, "Bob")
        await alice.presence_from(f"{room}/Bob", type="available")
        # RFC 8266 §2.4: "alice" and "ALICE" are Alice's nickname.
        self.assertEqual(await carol.join_refused(room, "alice"), "conflict")
        bob.send_message(mto=f"{room}/ALICE", mbody="found you", mtype="chat")
        got = await alice.message_from(f"{room}/Bob", lambda m: m["body"] == "found you", "private message")
        self.assertEqual(got["to"].full, alice.boundjid.full)
        # Its own holder may change its case: a rename like any other (303).
        bob.send_presence(pto=f"{room}/BOB")
        gone = await alice.presence_from(f"{room}/Bob", type="unavailable", codes=[303])
        self.assertEqual(item(gone)["nick"], "BOB")
        await alice.presence_from(f"{room}/BOB", type="available")

    async def test_sessions_of_one_account_share_a_nick(self):
        server = self.start_muc_server()
        desk = await self.connect(server, "alice", "desk")
        phone = await self.connect(server, "alice", "phone")
        bob = await self.connect(server, "bob")
        room = room_jid("devices")
        await desk.instant_room(room, "Alice")
        await bob.join(room, "Bob")
        await desk.presence_from(f"{room}/Bob", type="available")

        # The phone joins as "alice": not a conflict but Alice herself, spelled as she is (210).
        own, _, others, _ = await phone.join(room, "alice")
        self.assertEqual(own["from"].full, f"{room}/Alice")
        self.assertTrue({110, 210} <= status_codes(own), own)
        self.assertEqual([p["from"].full for p in others], [f"{room}/Bob"])
        # The others see Alice's presence again (now the phone's), never her leaving.
        seen = await bob.presence_from(f"{room}/Alice", type="available")
        self.assertEqual(item(seen)["role"], "moderator")
        await desk.presence_from(f"{room}/Alice", type="available", codes=[110],
                                 where=lambda p: 210 not in status_codes(p))
        await desk.ping(f"{room}/Alice")  # XEP-0410: the desk is still joined (an error raises)

        # Both sessions get the room's messages and Alice's private messages.
        bob.send_message(mto=room, mbody="to all", mtype="groupchat")
        for client in (desk, phone):
            await client.groupchat_body(room, "to all")
        bob.send_message(mto=f"{room}/Alice", mbody="to you", mtype="chat")
        for client in (desk, phone):
            got = await client.message_from(f"{room}/Bob", lambda m: m["body"] == "to you", "private message")
            self.assertEqual(got["to"].full, client.boundjid.full)
        phone.send_message(mto=room, mbody="from the phone", mtype="groupchat")
        got = await bob.groupchat_body(room, "from the phone")
        self.assertEqual(got["from"].full, f"{room}/Alice")

        # One session changes nick: it alone moves; Alice stays with the desk.
        phone.send_presence(pto=f"{room}/Alicia")
        moved = await phone.presence_from(f"{room}/Alice", type="unavailable", codes=[303, 110])
        self.assertEqual(item(moved)["nick"], "Alicia")
        await phone.presence_from(f"{room}/Alicia", type="available", codes=[110])
        await bob.presence_from(f"{room}/Alicia", type="available")
        await bob.presence_from(f"{room}/Alice", type="available")  # the desk speaks for Alice again

        # The phone leaves: the desk stays in the room.
        phone.muc.leave_muc(room, "Alicia")
        await phone.presence_from(f"{room}/Alicia", type="unavailable", codes=[110])
        await bob.presence_from(f"{room}/Alicia", type="unavailable")
        bob.send_message(mto=room, mbody="still there?", mtype="groupchat")
        await desk.groupchat_body(room, "still there?")
        await bob.barrier()
        self.assertFalse([p for p in bob.presences.items
                          if p["from"].full == f"{room}/Alice" and p["type"] == "unavailable"],
                         "Alice never left")
        desk.muc.leave_muc(room, "Alice")
        await bob.presence_from(f"{room}/Alice", type="unavailable")

    async def test_nick_change_and_conflict(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        room = room_jid("names")
        await alice.instant_room(room, "Alice")
        await bob.join(room, "Bob")
        await alice.presence_from(f"{room}/Bob", type="available")

        # §7.2.9: a nickname in use.
        self.assertEqual(await carol.join_refused(room, "Alice"), "conflict")

        # §7.6: Bob becomes Robert.
        bob.send_presence(pto=f"{room}/Robert")
        gone = await alice.presence_from(f"{room}/Bob", type="unavailable", codes=[303])
        self.assertEqual(item(gone)["nick"], "Robert")
        # The occupant stays: its real role and affiliation, not "none" (§7.6, example 118).
        self.assertEqual((item(gone)["role"], item(gone)["affiliation"]), ("participant", "none"))
        back = await alice.presence_from(f"{room}/Robert", type="available")
        self.assertEqual(item(back)["jid"], bob.boundjid.full)
        own_gone = await bob.presence_from(f"{room}/Bob", type="unavailable", codes=[303, 110])
        self.assertEqual(item(own_gone)["nick"], "Robert")
        await bob.presence_from(f"{room}/Robert", type="available", codes=[110])

        # Renaming to a taken nick: conflict, and Robert stays Robert.
        bob.send_presence(pto=f"{room}/Alice")
        refused = await bob.presence_from(f"{room}/Alice", type="error")
        self.assertEqual(error_condition(refused), "conflict")
        bob.send_message(mto=room, mbody="still Robert", mtype="groupchat")
        got = await alice.groupchat_body(room, "still Robert")
        self.assertEqual(got["from"].full, f"{room}/Robert")

        # §7.2.3 (210): the service normalized the nickname (resourceprep maps U+FB00 "ﬀ" to
        # "ff"); raw XML, since slixmpp would normalize it before sending.
        carol.send_raw(f"<presence to='{room}/\ufb00'><x xmlns='{MUC}'/></presence>")
        own = await carol.presence_from(f"{room}/ff", type="available", codes=[110, 210])
        self.assertEqual(item(own)["role"], "participant")

        # §7.2.1: a join without a nickname.
        carol.send_presence(pto=room)
        refused = await carol.presence_from(room, type="error")
        self.assertEqual(error_condition(refused), "jid-malformed")


class PrivateMessagesAndInvitations(MucTestCase):
    """§7.5 private messages (and IQs), §7.8 mediated invitations and declines, XEP-0249
    direct invitations, XEP-0410 self-ping."""

    async def test_private_messages(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        room = room_jid("whispers")
        await alice.instant_room(room, "Alice")
        await bob.join(room, "Bob")

        alice.send_message(mto=f"{room}/Bob", mbody="psst", mtype="chat")
        got = await bob.message_from(f"{room}/Alice", lambda m: m["body"] == "psst", "private message")
        self.assertEqual(got["type"], "chat")
        self.assertEqual(got["to"].full, bob.boundjid.full)

        alice.send_message(mto=f"{room}/Nobody", mbody="hello?", mtype="chat")
        refused = await alice.message_from(f"{room}/Nobody", lambda m: m["type"] == "error", "refusal")
        self.assertEqual(error_condition(refused), "item-not-found")
        # Not an occupant: not-acceptable.
        carol.send_message(mto=f"{room}/Bob", mbody="hi", mtype="chat")
        refused = await carol.message_from(f"{room}/Bob", lambda m: m["type"] == "error", "refusal")
        self.assertEqual(error_condition(refused), "not-acceptable")
        # A groupchat message to an occupant JID is a bad request.
        alice.send_message(mto=f"{room}/Bob", mbody="oops", mtype="groupchat")
        refused = await alice.message_from(f"{room}/Bob", lambda m: m["type"] == "error", "refusal")
        self.assertEqual(error_condition(refused), "bad-request")

    async def test_invitations(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        carol = await self.connect(server, "carol")
        dave = await self.connect(server, "dave")
        room = room_jid("party")
        await alice.instant_room(room, "Alice")
        await alice.configure(room, passwordprotectedroom="1", roomsecret="s3cret")

        invited = carol.messages  # slixmpp raises groupchat_invite; the mailbox has it too
        request = alice.make_message(mto=room)
        request["id"] = "invite-1"
        request.append(ET.fromstring("<x xmlns='http://jabber.org/protocol/muc#user'><invite to='carol@localhost'>"
                                     "<reason>come along</reason></invite></x>"))
        request.send()
        invite = await invited.take(lambda m: m["from"].full == room and muc_invite(m) is not None,
                                    "mediated invitation")
        self.assertEqual(invite["id"], "invite-1")  # the inviter may track it
        inv = muc_invite(invite)
        self.assertEqual(inv.get("from"), alice.boundjid.full)
        self.assertEqual(inv.findtext("{http://jabber.org/protocol/muc#user}reason"), "come along")
        self.assertEqual(invite.xml.findtext("{http://jabber.org/protocol/muc#user}x/"
                                             "{http://jabber.org/protocol/muc#user}password"), "s3cret")

        carol.muc.decline(room, "alice@localhost", "busy")
        decline = await alice.message_from(room, lambda m: m.xml.find(
            "{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}decline") is not None,
            "decline")
        declined = decline.xml.find("{http://jabber.org/protocol/muc#user}x/"
                                    "{http://jabber.org/protocol/muc#user}decline")
        self.assertEqual(declined.get("from"), "carol@localhost")
        self.assertEqual(declined.findtext("{http://jabber.org/protocol/muc#user}reason"), "busy")

        # Only occupants invite.
        dave.muc.invite(room, "carol@localhost")
        refused = await dave.message_from(room, lambda m: m["type"] == "error", "refusal")
        self.assertEqual(error_condition(refused), "not-acceptable")

        # XEP-0249 direct invitations travel between users like any message.
        direct = asyncio.get_running_loop().create_future()
        carol.add_event_handler("groupchat_direct_invite", direct.set_result)
        alice["xep_0249"].send_invitation("carol@localhost/res", room, password="s3cret", reason="see you")
        got = await asyncio.wait_for(direct, 15)
        self.assertEqual(got["from"].full, alice.boundjid.full)
        self.assertEqual(got["groupchat_invite"]["jid"], room)
        self.assertEqual(got["groupchat_invite"]["password"], "s3cret")

    async def test_self_ping(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room = room_jid("pings")
        await alice.instant_room(room, "Alice")
        reply = await alice.ping(f"{room}/Alice")
        self.assertEqual(reply["type"], "result")
        self.assertEqual(reply["from"].full, f"{room}/Alice")
        # Not joined (as that nick): not-acceptable.
        self.assertEqual(await bob.iq_error(bob.ping(f"{room}/Alice")), "not-acceptable")
        self.assertEqual(await bob.iq_error(bob.ping(f"{room}/Bob")), "not-acceptable")
        await bob.join(room, "Bob")
        self.assertEqual((await bob.ping(f"{room}/Bob"))["type"], "result")
        # A ping to another occupant goes to that occupant's client, occupant JIDs on both
        # sides (slixmpp answers pings itself).
        reply = await bob.ping(f"{room}/Alice")
        self.assertEqual((reply["type"], reply["from"].full), ("result", f"{room}/Alice"))
        self.assertEqual(await bob.iq_error(bob.ping(f"{room}/Nobody")), "item-not-found")
        bob.muc.leave_muc(room, "Bob")
        await bob.presence_from(f"{room}/Bob", type="unavailable", codes=[110])
        self.assertEqual(await bob.iq_error(bob.ping(f"{room}/Bob")), "not-acceptable")

    async def test_session_end_leaves_rooms(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room = room_jid("drops")
        await alice.instant_room(room, "Alice")
        await bob.join(room, "Bob")
        await alice.presence_from(f"{room}/Bob", type="available")
        bob.abort()  # no unavailable presence, no stream close
        gone = await alice.presence_from(f"{room}/Bob", type="unavailable")
        self.assertEqual(item(gone)["role"], "none")
        # The nick is free again.
        bob2 = await self.connect(server, "bob", "other")
        await bob2.join(room, "Bob")


def muc_invite(message):
    return message.xml.find("{http://jabber.org/protocol/muc#user}x/{http://jabber.org/protocol/muc#user}invite")


if __name__ == "__main__":
    unittest.main()

"""XEP-0045 moderation (modules/muc): roles and affiliations through muc#admin and
muc#owner, kicks, bans, voice, members-only, password-protected, non-anonymous and full
rooms, and room destruction, with slixmpp's xep_0045 plugin against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_muc_moderation
"""

import unittest

from slixmpp.xmlstream import ET

from muc_support import MUC_USER, MucTestCase, error_condition, item, room_jid, status_codes


class Moderation(MucTestCase):

    async def room_with(self, server, name, **config):
        """Alice's room, configured; Alice is in it as "Alice"."""
        alice = await self.connect(server, "alice")
        room = room_jid(name)
        await alice.instant_room(room, "Alice")
        if config:
            await alice.configure(room, **config)
        return alice, room

    async def test_kick(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "kicks")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        await bob.join(room, "Bob")
        await carol.join(room, "Carol")

        # §8.2: only moderators kick; a participant gets forbidden and nothing changes.
        self.assertEqual(await bob.iq_error(bob.muc.set_role(room, "Carol", "none", timeout=15)), "forbidden")
        # An admin or owner cannot be kicked (not-allowed), even by a moderator.
        await alice.muc.set_affiliation(room, "admin", jid="carol@localhost", timeout=15)
        self.assertEqual(await carol.iq_error(carol.muc.set_role(room, "Alice", "none", timeout=15)),
                         "not-allowed")
        # Kicking a nick that is not there.
        self.assertEqual(await alice.iq_error(alice.muc.set_role(room, "Nobody", "none", timeout=15)),
                         "item-not-found")

        await alice.muc.set_role(room, "Bob", "none", reason="behave", timeout=15)
        own = await bob.presence_from(f"{room}/Bob", type="unavailable", codes=[307, 110])
        self.assertEqual(own.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item/{{{MUC_USER}}}reason").text, "behave")
        self.assertEqual(own.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item/{{{MUC_USER}}}actor").get("nick"), "Alice")
        seen = await carol.presence_from(f"{room}/Bob", type="unavailable", codes=[307])
        self.assertNotIn(110, status_codes(seen))
        # Out means out: Bob's messages are refused, but he may come back (no ban).
        bob.send_message(mto=room, mbody="still here?", mtype="groupchat")
        self.assertEqual(error_condition(await bob.message_from(room, lambda m: m["type"] == "error")),
                         "not-acceptable")
        await bob.join(room, "Bob")

    async def test_ban_and_unban(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "bans")
        bob = await self.connect(server, "bob")
        await bob.join(room, "Bob")

        # Bob (no affiliation) cannot ban anyone.
        self.assertEqual(await bob.iq_error(bob.muc.set_affiliation(room, "outcast", jid="alice@localhost",
                                                                    timeout=15)), "forbidden")
        await alice.muc.set_affiliation(room, "outcast", jid="bob@localhost", reason="spam", timeout=15)
        own = await bob.presence_from(f"{room}/Bob", type="unavailable", codes=[301, 110])
        self.assertEqual(item(own)["affiliation"], "outcast")
        await alice.presence_from(f"{room}/Bob", type="unavailable", codes=[301])
        self.assertEqual(await alice.muc.get_affiliation_list(room, "outcast", timeout=15), ["bob@localhost"])
        # The ban list says why (§9.2), and the banned one was told who did it.
        iq = alice.make_iq_get(ito=room)
        query = ET.SubElement(iq.xml, "{http://jabber.org/protocol/muc#admin}query")
        ET.SubElement(query, "{http://jabber.org/protocol/muc#admin}item", {"affiliation": "outcast"})
        listed = (await iq.send(timeout=15)).xml.find(
            "{http://jabber.org/protocol/muc#admin}query/{http://jabber.org/protocol/muc#admin}item")
        self.assertEqual(listed.findtext("{http://jabber.org/protocol/muc#admin}reason"), "spam")
        told = own.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item")
        self.assertEqual((told.find(f"{{{MUC_USER}}}actor").get("nick"), told.findtext(f"{{{MUC_USER}}}reason")),
                         ("Alice", "spam"))
        # §7.2.7: banned users are forbidden, whatever their resource.
        self.assertEqual(await bob.join_refused(room, "Bob"), "forbidden")

        await alice.muc.set_affiliation(room, "none", jid="bob@localhost", timeout=15)
        self.assertEqual(await alice.muc.get_affiliation_list(room, "outcast", timeout=15), [])
        await bob.join(room, "Bob")

    async def test_voice_in_moderated_room(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "stage", moderatedroom="1")
        carol = await self.connect(server, "carol")
        presence, _, _, _ = await carol.join(room, "Carol")
        self.assertEqual(item(presence)["role"], "visitor")
        info = await carol["xep_0030"].get_info(jid=room, timeout=15)
        self.assertIn("muc_moderated", info["disco_info"]["features"])

        carol.send_message(mto=room, mbody="may I?", mtype="groupchat")
        self.assertEqual(error_condition(await carol.message_from(room, lambda m: m["type"] == "error")),
                         "forbidden")
        # Only moderators list roles.
        self.assertEqual(await carol.iq_error(carol.muc.get_roles_list(room, "moderator", timeout=15)),
                         "forbidden")
        self.assertEqual(await alice.muc.get_roles_list(room, "visitor", timeout=15), ["Carol"])

        await alice.muc.set_role(room, "Carol", "participant", timeout=15)
        await carol.presence_from(f"{room}/Carol", type="available", codes=[110],
                                  where=lambda p: item(p)["role"] == "participant")
        carol.send_message(mto=room, mbody="thank you", mtype="groupchat")
        await alice.groupchat_body(room, "thank you")

        await alice.muc.set_role(room, "Carol", "visitor", timeout=15)
        # The IQ is answered once the change is made and broadcast.
        carol.send_message(mto=room, mbody="again?", mtype="groupchat")
        self.assertEqual(error_condition(await carol.message_from(room, lambda m: m["type"] == "error")),
                         "forbidden")
        # The refused message reached nobody: the next one Alice sees is her own.
        alice.send_message(mto=room, mbody="next", mtype="groupchat")
        first = await alice.messages.take(lambda m: m["type"] == "groupchat" and m["body"])
        self.assertEqual(first["body"], "next")

    async def test_members_only(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "club")
        carol = await self.connect(server, "carol")
        dave = await self.connect(server, "dave")
        await dave.join(room, "Dave")  # open for now

        # Becoming members-only removes non-members (322).
        await alice.configure(room, membersonly="1")
        await dave.presence_from(f"{room}/Dave", type="unavailable", codes=[322, 110])
        self.assertEqual(await carol.join_refused(room, "Carol"), "registration-required")

        await alice.muc.set_affiliation(room, "member", jid="carol@localhost", timeout=15)
        # Carol is not in the room: the owner is told in a message from the room, and so is
        # Carol, whom membership lets in (§9.3).
        def announcement(m):
            return m["from"].full == room and m.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item") is not None
        for client in (alice, carol):
            told = (await client.messages.take(announcement)).xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}item")
            self.assertEqual((told.get("affiliation"), told.get("jid")), ("member", "carol@localhost"))
        self.assertEqual(await alice.muc.get_affiliation_list(room, "member", timeout=15), ["carol@localhost"])
        presence, _, _, _ = await carol.join(room, "Carol")
        self.assertEqual(item(presence)["affiliation"], "member")
        # Members may not read the lists (admins and owners do)...
        self.assertEqual(await carol.iq_error(carol.muc.get_affiliation_list(room, "member", timeout=15)),
                         "forbidden")
        # ... unless the room lets participants read the member list (§9.5); the others stay closed.
        await alice.configure(room, getmemberlist=["moderator", "participant"])
        self.assertEqual(await carol.muc.get_affiliation_list(room, "member", timeout=15), ["carol@localhost"])
        self.assertEqual(await carol.iq_error(carol.muc.get_affiliation_list(room, "owner", timeout=15)),
                         "forbidden")
        # Losing membership of a members-only room removes (321).
        await alice.muc.set_affiliation(room, "none", jid="carol@localhost", timeout=15)
        await carol.presence_from(f"{room}/Carol", type="unavailable", codes=[321, 110])
        self.assertEqual(await carol.join_refused(room, "Carol"), "registration-required")

    async def test_registration_reserves_a_nick(self):
        REGISTER, DATA, INFO = "jabber:iq:register", "jabber:x:data", "http://jabber.org/protocol/disco#info"
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "regulars", persistentroom="1")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")

        async def register(client, nick=None, remove=False):
            iq = client.make_iq_set(ito=room)
            query = ET.SubElement(iq.xml, f"{{{REGISTER}}}query")
            if remove:
                ET.SubElement(query, f"{{{REGISTER}}}remove")
            else:
                form = client["xep_0004"].make_form(ftype="submit")
                form.add_field(var="FORM_TYPE", value="http://jabber.org/protocol/muc#register")
                form.add_field(var="muc#register_roomnick", value=nick)
                query.append(form.xml)
            return await iq.send(timeout=15)

        async def reserved(client):
            iq = client.make_iq_get(ito=room)
            ET.SubElement(iq.xml, f"{{{INFO}}}query", {"node": "x-roomuser-item"})
            identity = (await iq.send(timeout=15)).xml.find(f"{{{INFO}}}query/{{{INFO}}}identity")
            return identity.get("name") if identity is not None else None

        # §7.10: the form, then the registration: a member with the nick.
        iq = bob.make_iq_get(ito=room)
        ET.SubElement(iq.xml, f"{{{REGISTER}}}query")
        form = (await iq.send(timeout=15)).xml.find(f"{{{REGISTER}}}query/{{{DATA}}}x")
        self.assertIn("muc#register_roomnick", [f.get("var") for f in form.findall(f"{{{DATA}}}field")])
        await register(bob, "Bobby")
        self.assertEqual(await alice.muc.get_affiliation_list(room, "member", timeout=15), ["bob@localhost"])
        self.assertEqual(await reserved(bob), "Bobby")  # §7.12
        self.assertIsNone(await reserved(carol))
        # The nick is Bob's: Carol can neither join with it nor register it.
        self.assertEqual(await carol.join_refused(room, "Bobby"), "conflict")
        self.assertEqual(await carol.iq_error(register(carol, "Bobby")), "conflict")
        presence, _, _, _ = await bob.join(room, "Bobby")
        self.assertEqual(item(presence)["affiliation"], "member")

        # Kept across a restart (a persistent room).
        server.stop()
        server.start()
        bob = await self.connect(server, "bob")
        self.assertEqual(await reserved(bob), "Bobby")
        iq = bob.make_iq_get(ito=room)
        ET.SubElement(iq.xml, f"{{{REGISTER}}}query")
        answer = (await iq.send(timeout=15)).xml.find(f"{{{REGISTER}}}query")
        self.assertIsNotNone(answer.find(f"{{{REGISTER}}}registered"))
        self.assertEqual(answer.findtext(f"{{{REGISTER}}}username"), "Bobby")
        # Unregistering gives up the nick and the membership.
        await register(bob, remove=True)
        self.assertIsNone(await reserved(bob))
        alice = await self.connect(server, "alice")
        self.assertEqual(await alice.muc.get_affiliation_list(room, "member", timeout=15), [])

    async def test_password_protected(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "vault", passwordprotectedroom="1", roomsecret="open sesame")
        bob = await self.connect(server, "bob")
        self.assertEqual(await bob.join_refused(room, "Bob"), "not-authorized")
        self.assertEqual(await bob.join_refused(room, "Bob", password="guess"), "not-authorized")
        await bob.join(room, "Bob", password="open sesame")
        # Protected without a password is not acceptable.
        self.assertEqual(await alice.iq_error(alice.configure(room, roomsecret="")), "not-acceptable")

    async def test_a_password_alone_protects_the_room(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "safe", roomsecret="hunter2")
        bob = await self.connect(server, "bob")
        self.assertEqual(await bob.join_refused(room, "Bob"), "not-authorized")
        info = await bob["xep_0030"].get_info(jid=room, timeout=15)
        self.assertIn("muc_passwordprotected", info["disco_info"]["features"])
        await bob.join(room, "Bob", password="hunter2")

    async def test_full_room(self):
        server = self.start_muc_server("[modules.muc]\nmax_occupants = 50\n")
        alice, room = await self.room_with(server, "small", maxusers="2")
        bob = await self.connect(server, "bob")
        carol = await self.connect(server, "carol")
        await bob.join(room, "Bob")
        self.assertEqual(await carol.join_refused(room, "Carol"), "service-unavailable")
        # The owner cannot go beyond the service's limit.
        self.assertEqual(await alice.iq_error(alice.configure(room, maxusers="51")), "not-acceptable")

    async def test_logging_changes_are_announced_and_probes_answered(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "logbook")
        bob = await self.connect(server, "bob")
        await bob.join(room, "Bob")
        # §10.2.1: 170 when the room starts keeping an archive, 171 when it stops.
        await alice.configure(room, persistentroom="1")
        notice = await bob.message_from(room, lambda m: 104 in status_codes(m), "configuration change")
        self.assertIn(170, status_codes(notice))
        await alice.configure(room, enablelogging="0")
        notice = await bob.message_from(room, lambda m: 104 in status_codes(m), "configuration change")
        self.assertIn(171, status_codes(notice))
        # A probe to an occupant is answered with its current presence.
        alice.send_presence(pshow="away", pstatus="lunch", pto=f"{room}/Alice")
        await bob.presence_from(f"{room}/Alice", where=lambda p: p["status"] == "lunch")
        bob.send_presence(ptype="probe", pto=f"{room}/Alice")
        answer = await bob.presence_from(f"{room}/Alice", where=lambda p: p["status"] == "lunch")
        self.assertEqual(answer["show"], "away")
        self.assertEqual(item(answer)["role"], "moderator")

    async def test_non_anonymous(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "open-book")
        bob = await self.connect(server, "bob")
        _, _, occupants, _ = await bob.join(room, "Bob")
        self.assertNotIn("jid", item(occupants[0]))

        await alice.configure(room, whois="anyone")
        notice = await bob.message_from(room, lambda m: 104 in status_codes(m), "configuration change")
        self.assertIn(172, status_codes(notice))  # now non-anonymous
        # Bob is shown everyone's real JID again.
        again = await bob.presence_from(f"{room}/Alice", type="available")
        while "jid" not in item(again):
            again = await bob.presence_from(f"{room}/Alice", type="available")
        self.assertEqual(item(again)["jid"], alice.boundjid.full)

        carol = await self.connect(server, "carol")
        presence, _, occupants, _ = await carol.join(room, "Carol")
        self.assertIn(100, status_codes(presence))  # §7.2.4: told the room is non-anonymous
        self.assertEqual(sorted(item(p)["jid"] for p in occupants),
                         sorted([alice.boundjid.full, bob.boundjid.full]))
        info = await carol["xep_0030"].get_info(jid=room, timeout=15)
        self.assertIn("muc_nonanonymous", info["disco_info"]["features"])

    async def test_affiliation_lists_and_the_last_owner(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "owners")
        bob = await self.connect(server, "bob")
        await bob.join(room, "Bob")
        self.assertEqual(await alice.muc.get_affiliation_list(room, "owner", timeout=15), ["alice@localhost"])
        # §10.6: the only owner may not step down.
        self.assertEqual(await alice.iq_error(alice.muc.set_affiliation(room, "none", jid="alice@localhost",
                                                                        timeout=15)), "conflict")
        # Owners make admins; admins are moderators; admins cannot make owners.
        await alice.muc.set_affiliation(room, "admin", nick="Bob", timeout=15)
        await bob.presence_from(f"{room}/Bob", type="available", codes=[110],
                                where=lambda p: (item(p)["affiliation"], item(p)["role"]) == ("admin", "moderator"))
        self.assertEqual(await alice.muc.get_affiliation_list(room, "admin", timeout=15), ["bob@localhost"])
        self.assertEqual(await bob.iq_error(bob.muc.set_affiliation(room, "owner", jid="bob@localhost",
                                                                    timeout=15)), "not-allowed")
        # A batch with one bad item changes nothing.
        self.assertEqual(await alice.iq_error(alice.muc.send_affiliation_list(
            room, [("carol@localhost", "member"), ("alice@localhost", "none")], timeout=15)), "conflict")
        self.assertEqual(await alice.muc.get_affiliation_list(room, "member", timeout=15), [])
        # Now with a second owner, Alice may leave ownership.
        await alice.muc.send_affiliation_list(room, [("carol@localhost", "owner")], timeout=15)
        await alice.muc.set_affiliation(room, "member", jid="alice@localhost", timeout=15)
        self.assertEqual(await bob.muc.get_affiliation_list(room, "owner", timeout=15), ["carol@localhost"])
        self.assertEqual(await alice.iq_error(alice.muc.get_room_config(room, timeout=15)), "forbidden")

    async def test_destroy(self):
        server = self.start_muc_server()
        alice, room = await self.room_with(server, "doomed")
        bob = await self.connect(server, "bob")
        await bob.join(room, "Bob")
        self.assertEqual(await bob.iq_error(bob.muc.destroy(room, timeout=15)), "forbidden")

        await alice.muc.destroy(room, reason="moving", altroom=room_jid("new-home"), timeout=15)
        gone = await bob.presence_from(f"{room}/Bob", type="unavailable")
        destroy = gone.xml.find(f"{{{MUC_USER}}}x/{{{MUC_USER}}}destroy")
        self.assertEqual(destroy.get("jid"), room_jid("new-home"))
        self.assertEqual(destroy.findtext(f"{{{MUC_USER}}}reason"), "moving")
        self.assertEqual((item(gone)["affiliation"], item(gone)["role"]), ("none", "none"))
        await alice.presence_from(f"{room}/Alice", type="unavailable")
        self.assertEqual(await bob.iq_error(bob["xep_0030"].get_info(jid=room, timeout=15)), "item-not-found")
        # IQs to a room that does not exist.
        self.assertEqual(await alice.iq_error(alice.muc.get_room_config(room, timeout=15)), "item-not-found")


class BadInput(MucTestCase):
    """Malformed requests get the XEP's error, change nothing, and the room keeps serving."""

    async def raw_iq(self, client, to, itype, payload_xml):
        iq = client.make_iq(ito=to, itype=itype)
        iq.append(ET.fromstring(payload_xml))
        return await client.iq_error(iq.send(timeout=15))

    async def test_malformed_requests(self):
        server = self.start_muc_server()
        alice = await self.connect(server, "alice")
        bob = await self.connect(server, "bob")
        room = room_jid("strict")
        await alice.instant_room(room, "Alice")
        await bob.join(room, "Bob")
        admin, owner = "http://jabber.org/protocol/muc#admin", "http://jabber.org/protocol/muc#owner"

        cases = [
            ("set", f"<query xmlns='{admin}'/>", "bad-request"),                      # no item
            ("set", f"<query xmlns='{admin}'><item nick='Bob' role='participant' affiliation='member'/></query>",
             "bad-request"),                                                          # role and affiliation
            ("set", f"<query xmlns='{admin}'><item nick='Bob' role='emperor'/></query>", "bad-request"),
            ("set", f"<query xmlns='{admin}'><item jid='not a jid@@' affiliation='member'/></query>", "bad-request"),
            ("get", f"<query xmlns='{admin}'><item affiliation='none'/></query>", "bad-request"),
            ("get", f"<query xmlns='{admin}'/>", "bad-request"),
            ("set", f"<query xmlns='{owner}'/>", "bad-request"),                      # neither form nor destroy
            ("set", f"<query xmlns='{owner}'><x xmlns='jabber:x:data' type='result'/></query>", "bad-request"),
            ("get", "<query xmlns='urn:example:unknown'/>", "service-unavailable"),
        ]
        for itype, payload, condition in cases:
            with self.subTest(payload=payload):
                self.assertEqual(await self.raw_iq(alice, room, itype, payload), condition)
        # The service itself: unknown requests.
        self.assertEqual(await self.raw_iq(alice, "conference.localhost", "get",
                                           f"<query xmlns='{admin}'/>"), "service-unavailable")

        # Presence of an unknown type; an invitation to a malformed address.
        alice.send_raw(f"<presence to='{room}/Alice' type='bogus'/>")
        refused = await alice.presence_from(f"{room}/Alice", type="error")
        self.assertEqual(error_condition(refused), "bad-request")
        invite = alice.make_message(mto=room)
        invite.append(ET.fromstring(f"<x xmlns='{MUC_USER}'><invite to='@@'/></x>"))
        invite.send()
        refused = await alice.message_from(room, lambda m: m["type"] == "error", "refusal")
        self.assertEqual(error_condition(refused), "jid-malformed")

        # Nothing changed: same roles and affiliations, and the room still talks.
        self.assertEqual(await alice.muc.get_affiliation_list(room, "member", timeout=15), [])
        self.assertEqual(await alice.muc.get_roles_list(room, "participant", timeout=15), ["Bob"])
        bob.send_message(mto=room, mbody="still working", mtype="groupchat")
        await alice.groupchat_body(room, "still working")


if __name__ == "__main__":
    unittest.main()

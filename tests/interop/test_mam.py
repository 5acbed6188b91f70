"""XEP-0313 message archive management, XEP-0359 stanza ids and XEP-0424 retraction
(modules/mam) with slixmpp's xep_0313 plugin, and hand-built queries where a client library
would not send what a test needs, against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_mam
"""

import asyncio
import datetime
import subprocess
import unittest
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

import harness
from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, Client, SlixmppTestCase

MAM = "urn:xmpp:mam:2"
SID = "urn:xmpp:sid:0"
RSM = "http://jabber.org/protocol/rsm"
FORWARD = "urn:xmpp:forward:0"
RETRACT = "urn:xmpp:message-retract:1"
MODERATE_NS = "urn:xmpp:message-moderate:1"
XDATA = "jabber:x:data"
MODULES = 'modules = ["roster", "presence", "disco", "offline", "carbons", "mam"]\n'


class MamClient(Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for plugin in ("xep_0030", "xep_0313", "xep_0359", "xep_0280"):
            self.register_plugin(plugin)
        self.results = {}  # queryid -> [result message]
        self.register_handler(Callback(
            "mam results", MatchXPath(f"{{jabber:client}}message/{{{MAM}}}result"), self._on_result))

    def _on_result(self, message):
        result = message.xml.find(f"{{{MAM}}}result")
        self.results.setdefault(result.get("queryid"), []).append(result)

    async def query(self, fields=None, rsm=None, flip=False, to=None, raw_form=None):
        """A hand-built MAM query; returns (results, the IQ reply). `fields` maps var to a
        value or a list of values; `rsm` maps RSM element names to text."""
        iq = self.make_iq_set(ito=to)
        query = ET.SubElement(iq.xml, f"{{{MAM}}}query", {"queryid": iq["id"]})
        if raw_form is not None:
            query.append(raw_form)
        elif fields:
            form = ET.SubElement(query, f"{{{XDATA}}}x", {"type": "submit"})
            all_fields = {"FORM_TYPE": MAM, **fields}
            for var, values in all_fields.items():
                field = ET.SubElement(form, f"{{{XDATA}}}field", {"var": var})
                for v in values if isinstance(values, list) else [values]:
                    ET.SubElement(field, f"{{{XDATA}}}value").text = v
        if rsm:
            s = ET.SubElement(query, f"{{{RSM}}}set")
            for name, text in rsm.items():
                ET.SubElement(s, f"{{{RSM}}}{name}").text = text
        if flip:
            ET.SubElement(query, f"{{{MAM}}}flip-page")
        reply = await iq.send(timeout=TIMEOUT)
        return self.results.pop(iq["id"], []), reply


def forwarded(result):
    return result.find(f"{{{FORWARD}}}forwarded/{{jabber:client}}message")


def bodies(results):
    return [forwarded(r).findtext("{jabber:client}body") for r in results]


def error_condition(error_iq):
    return error_iq.iq["error"]["condition"]


class MamTestCase(SlixmppTestCase):

    async def mam_login(self, server, jid, password):
        client = MamClient(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{jid}: no session")
        await client.barrier()
        return client

    async def converse(self, alice, bob, count):
        """Alice and Bob take turns; each message is received before the next is sent."""
        for i in range(count):
            sender, recipient = (alice, bob) if i % 2 == 0 else (bob, alice)
            sender.send_message(mto=recipient.boundjid.bare, mbody=f"message {i}", mtype="chat")
            self.assertEqual((await recipient.receive())["body"], f"message {i}")


class Archive(MamTestCase):

    async def test_archived_once_with_stanza_ids_paged_both_ways(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])

        info = await alice.plugin["xep_0030"].get_info(jid="alice@localhost", timeout=TIMEOUT)
        for feature in (MAM, SID, RETRACT, MAM + "#extended"):
            self.assertIn(feature, info["disco_info"]["features"])

        # A forged stanza-id is removed; the server's own is added.
        forged = alice.make_message(mto="bob@localhost", mbody="first", mtype="chat")
        ET.SubElement(forged.xml, f"{{{SID}}}stanza-id", {"by": "bob@localhost", "id": "forged"})
        forged.send()
        received = await bob.receive()
        ids = [(e.get("by"), e.get("id")) for e in received.xml.findall(f"{{{SID}}}stanza-id")]
        self.assertNotIn(("bob@localhost", "forged"), ids)
        bob_ids = [i for by, i in ids if by == "bob@localhost"]
        self.assertEqual(len(bob_ids), 1, ids)
        await self.converse(alice, bob, 11)  # 12 messages in all

        # Forward, page by page with the plugin (RSM <after/>), oldest first.
        got = [m async for m in alice.plugin["xep_0313"].iterate(rsm={"max": 5})]
        got_bodies = [m["mam_result"]["forwarded"]["stanza"]["body"] for m in got]
        self.assertEqual(got_bodies, ["first"] + [f"message {i}" for i in range(11)])
        # Backward (RSM <before/>), newest first.
        back = [m async for m in bob.plugin["xep_0313"].iterate(rsm={"max": 5}, reverse=True)]
        self.assertEqual([m["mam_result"]["forwarded"]["stanza"]["body"] for m in back],
                         list(reversed(got_bodies)))
        # Bob's archive names the message by the id his copy carried.
        self.assertEqual(back[-1]["mam_result"]["id"], bob_ids[0])

        # The newest page with count, first and last; then the page before it.
        results, fin = await alice.query(rsm={"max": "4", "before": ""})
        self.assertEqual(bodies(results), [f"message {i}" for i in range(7, 11)])
        s = fin.xml.find(f"{{{MAM}}}fin/{{{RSM}}}set")
        self.assertEqual(s.findtext(f"{{{RSM}}}count"), "12")
        self.assertEqual(s.findtext(f"{{{RSM}}}first"), results[0].get("id"))
        self.assertEqual(s.findtext(f"{{{RSM}}}last"), results[-1].get("id"))
        self.assertIsNone(fin.xml.find(f"{{{MAM}}}fin").get("complete"))
        earlier, fin2 = await alice.query(rsm={"max": "4", "before": results[0].get("id")})
        self.assertEqual(bodies(earlier), [f"message {i}" for i in range(3, 7)])
        # flip-page: the same page, newest first.
        flipped, _ = await alice.query(rsm={"max": "4", "before": ""}, flip=True)
        self.assertEqual(bodies(flipped), list(reversed(bodies(results))))
        # By ids.
        chosen = [results[1].get("id"), earlier[0].get("id")]
        by_ids, _ = await alice.query(fields={"ids": chosen})
        self.assertEqual(bodies(by_ids), ["message 3", "message 8"])
        # before-id / after-id as form fields.
        between, fin3 = await alice.query(fields={"after-id": earlier[0].get("id"),
                                                  "before-id": results[1].get("id")})
        self.assertEqual(bodies(between), ["message 4", "message 5", "message 6", "message 7"])
        self.assertEqual(fin3.xml.find(f"{{{MAM}}}fin").get("complete"), "true")

    async def test_second_device_filters_with_time_and_search(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        server.add_user("carol@localhost", "carol-secret")
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        carol = await self.mam_login(server, "carol@localhost/x", "carol-secret")
        await self.converse(alice, bob, 4)
        middle = datetime.datetime.now(datetime.timezone.utc)
        carol.send_message(mto="alice@localhost", mbody="a note about pelicans", mtype="chat")
        self.assertEqual((await alice.receive())["body"], "a note about pelicans")
        alice.send_message(mto="carol@localhost", mbody="Pelicans are birds", mtype="chat")
        self.assertEqual((await carol.receive())["body"], "Pelicans are birds")

        phone = await self.mam_login(server, "alice@localhost/phone", ALICE[1])
        everything = await phone.plugin["xep_0313"].retrieve(timeout=TIMEOUT)
        self.assertEqual(len(everything["mam"]["results"]), 6)
        with_bob = await phone.plugin["xep_0313"].retrieve(with_jid="bob@localhost", timeout=TIMEOUT)
        self.assertEqual([m["mam_result"]["forwarded"]["stanza"]["body"] for m in with_bob["mam"]["results"]],
                         [f"message {i}" for i in range(4)])
        since = await phone.plugin["xep_0313"].retrieve(start=middle, timeout=TIMEOUT)
        self.assertEqual([m["mam_result"]["forwarded"]["stanza"]["body"] for m in since["mam"]["results"]],
                         ["a note about pelicans", "Pelicans are birds"])
        until = await phone.plugin["xep_0313"].retrieve(end=middle, timeout=TIMEOUT)
        self.assertEqual(len(until["mam"]["results"]), 4)
        found, _ = await phone.query(fields={"{urn:xmpp:fulltext:0}fulltext": "pelicans"})
        self.assertEqual(bodies(found), ["a note about pelicans", "Pelicans are birds"])
        none, _ = await phone.query(fields={"{urn:xmpp:fulltext:0}fulltext": "penguins"})
        self.assertEqual(none, [])
        # Each result is a forwarded message with its delay stamp.
        self.assertIsNotNone(found[0].find(f"{{{FORWARD}}}forwarded/{{urn:xmpp:delay}}delay"))
        meta = phone.make_iq_get(ito=None)
        ET.SubElement(meta.xml, f"{{{MAM}}}metadata")
        reply = await meta.send(timeout=TIMEOUT)
        first = reply.xml.find(f"{{{MAM}}}metadata/{{{MAM}}}start").get("id")
        last = reply.xml.find(f"{{{MAM}}}metadata/{{{MAM}}}end").get("id")
        self.assertEqual(first, everything["mam"]["results"][0]["mam_result"]["id"])
        self.assertEqual(last, everything["mam"]["results"][-1]["mam_result"]["id"])

    async def test_preferences_and_what_is_not_archived(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        prefs = alice.make_iq_set()
        p = ET.SubElement(prefs.xml, f"{{{MAM}}}prefs", {"default": "always"})
        ET.SubElement(ET.SubElement(p, f"{{{MAM}}}never"), f"{{{MAM}}}jid").text = "bob@localhost"
        reply = await prefs.send(timeout=TIMEOUT)
        self.assertEqual(reply.xml.findtext(f"{{{MAM}}}prefs/{{{MAM}}}never/{{{MAM}}}jid"), "bob@localhost")
        alice.send_message(mto="bob@localhost", mbody="not in alice's archive", mtype="chat")
        self.assertEqual((await bob.receive())["body"], "not in alice's archive")
        # A chat state alone, a headline and a no-store message are archived by nobody.
        state = bob.make_message(mto="alice@localhost", mtype="chat")
        ET.SubElement(state.xml, "{http://jabber.org/protocol/chatstates}composing")
        state.send()
        bob.send_message(mto="alice@localhost", mbody="headline", mtype="headline")
        no_store = bob.make_message(mto="alice@localhost", mbody="no-store", mtype="chat")
        ET.SubElement(no_store.xml, "{urn:xmpp:hints}no-store")
        no_store.send()
        bob.send_message(mto="alice@localhost", mbody="last", mtype="chat")
        while (await alice.receive())["body"] != "last":
            pass
        alice_results, _ = await alice.query()
        self.assertEqual(alice_results, [])
        bob_results, _ = await bob.query()
        self.assertEqual(bodies(bob_results), ["not in alice's archive", "last"])

    async def test_bad_queries(self):
        server = self.start_server_with_users(
            extra_toml=MODULES + '\n[modules.mam]\nmax_page_size = 3\n')
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        await self.converse(alice, bob, 5)

        async def refused(condition, **kwargs):
            with self.assertRaises(Exception) as caught:
                await alice.query(**kwargs)
            self.assertEqual(error_condition(caught.exception), condition, kwargs)

        await refused("bad-request", fields={"start": "yesterday"})
        await refused("bad-request", fields={"with": "@@not a jid"})
        await refused("feature-not-implemented", fields={"colour": "blue"})
        await refused("item-not-found", fields={"before-id": "1"})
        await refused("item-not-found", rsm={"after": "no-such-id"})
        await refused("forbidden", to="bob@localhost")
        bad_type = ET.Element(f"{{{XDATA}}}x", {"type": "submit"})
        f = ET.SubElement(bad_type, f"{{{XDATA}}}field", {"var": "FORM_TYPE"})
        ET.SubElement(f, f"{{{XDATA}}}value").text = "urn:example:other"
        await refused("bad-request", raw_form=bad_type)
        # Asking for more than the maximum page gets the maximum.
        page, fin = await alice.query(rsm={"max": "100"})
        self.assertEqual(len(page), 3)
        self.assertIsNone(fin.xml.find(f"{{{MAM}}}fin").get("complete"))
        # The server still serves everyone.
        await self.converse(alice, bob, 1)

    async def test_archive_survives_restart(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        await self.converse(alice, bob, 3)
        before, _ = await alice.query()
        server.stop()
        server.start()
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        after, _ = await alice.query()
        self.assertEqual([r.get("id") for r in after], [r.get("id") for r in before])
        self.assertEqual(bodies(after), ["message 0", "message 1", "message 2"])
        # New messages get ids after the old ones.
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        await self.converse(alice, bob, 1)
        newest, _ = await alice.query(rsm={"max": "1", "before": ""})
        self.assertGreater(int(newest[0].get("id")), int(before[-1].get("id")))


class Retention(MamTestCase):

    async def test_quota_keeps_the_newest_and_deleted_accounts_leave_nothing(self):
        server = self.start_server_with_users(extra_toml=MODULES + '\n[modules.mam]\nmax_messages = 3\n')
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        await self.converse(alice, bob, 5)
        results, fin = await alice.query()
        self.assertEqual(bodies(results), ["message 2", "message 3", "message 4"])
        self.assertEqual(fin.xml.findtext(f"{{{MAM}}}fin/{{{RSM}}}set/{{{RSM}}}count"), "3")

        # Bob's account is deleted (by xmppctl, beside the running server) and made again:
        # the new account starts with an empty archive.
        await self._close_quietly(bob)
        deleted = subprocess.run([harness.xmppctl_binary(), "--config", server.config_path, "deluser",
                                  "bob@localhost"], capture_output=True, text=True, timeout=TIMEOUT)
        self.assertEqual(deleted.returncode, 0, deleted.stderr)
        server.add_user(*BOB)
        bob = await self.mam_login(server, "bob@localhost/again", BOB[1])
        fresh, _ = await bob.query()
        self.assertEqual(fresh, [])
        # Alice's copy of the conversation is hers, and stays.
        still, _ = await alice.query()
        self.assertEqual(len(still), 3)


    async def test_messages_older_than_expire_after_are_deleted(self):
        server = self.start_server_with_users(extra_toml=MODULES + '\n[modules.mam]\nexpire_after = "2s"\n')
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        await self.converse(alice, bob, 2)
        kept, _ = await alice.query()
        self.assertEqual(len(kept), 2)
        server.stop()
        await asyncio.sleep(2.5)  # the messages age past expire_after: time itself is under test
        server.start()
        await self.log_line(server, r"mam: expired \d+ archived messages")
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        gone, fin = await alice.query()
        self.assertEqual(gone, [])
        self.assertEqual(fin.xml.findtext(f"{{{MAM}}}fin/{{{RSM}}}set/{{{RSM}}}count"), "0")


class BadConfig(unittest.TestCase):

    def test_an_unknown_default_mode_names_file_line_and_key(self):
        server = harness.XmppServer(extra_toml=MODULES + '\n[modules.mam]\ndefault_mode = "sometimes"\n')
        self.addCleanup(server.remove_dir)
        result = subprocess.run([harness.xmppd_binary(), "--config", server.config_path],
                                capture_output=True, text=True, timeout=TIMEOUT)
        self.assertNotEqual(result.returncode, 0)
        line = open(server.config_path).read().splitlines().index('default_mode = "sometimes"') + 1
        self.assertIn(f"xmppd.toml:{line}: modules.mam.default_mode: must be", result.stdout + result.stderr)


def retraction(client, to, message_id, mtype="chat"):
    m = client.make_message(mto=to, mtype=mtype, mbody="This person attempted to retract a previous message")
    ET.SubElement(m.xml, f"{{{RETRACT}}}retract", {"id": message_id})
    ET.SubElement(m.xml, "{urn:xmpp:fallback:0}fallback", {"for": RETRACT})
    ET.SubElement(m.xml, "{urn:xmpp:hints}store")
    return m


class Retraction(MamTestCase):

    async def test_retracted_while_recipient_offline_is_gone_everywhere(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        secret = alice.make_message(mto="bob@localhost", mbody="the secret plan", mtype="chat")
        ET.SubElement(secret.xml, f"{{{SID}}}origin-id", {"id": "origin-1"})
        secret.send()
        alice.send_message(mto="bob@localhost", mbody="kept", mtype="chat")
        retraction(alice, "bob@localhost", "origin-1").send()
        await alice.barrier()
        # Alice's own archive keeps a tombstone in its place.
        mine, _ = await alice.query()
        self.assertEqual(len(mine), 3)
        tomb = forwarded(mine[0])
        self.assertIsNone(tomb.find("{jabber:client}body"))
        self.assertIsNotNone(tomb.find(f"{{{RETRACT}}}retracted"))
        self.assertNotIn("secret plan", ET.tostring(tomb, encoding="unicode"))

        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        delivered = [await bob.receive(), await bob.receive()]
        self.assertEqual([m["body"] for m in delivered][0], "kept")
        self.assertIsNotNone(delivered[1].xml.find(f"{{{RETRACT}}}retract"))
        archived, _ = await bob.query()
        self.assertEqual(len(archived), 3)
        self.assertNotIn("secret plan", "".join(ET.tostring(r, encoding="unicode") for r in archived))
        self.assertIsNotNone(forwarded(archived[0]).find(f"{{{RETRACT}}}retracted"))
        # Nothing more comes: the original is not in the offline store either.
        await bob.barrier()
        self.assertTrue(bob.inbox.empty())
        found, _ = await bob.query(fields={"{urn:xmpp:fulltext:0}fulltext": "secret"})
        self.assertEqual(found, [])

    async def test_retracted_while_online_reaches_recipient_and_second_device(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        m = alice.make_message(mto="bob@localhost", mbody="oops", mtype="chat")
        m.send()
        self.assertEqual((await bob.receive())["body"], "oops")
        retraction(alice, "bob@localhost", m["id"]).send()
        got = await bob.receive()
        self.assertEqual(got.xml.find(f"{{{RETRACT}}}retract").get("id"), m["id"])
        phone = await self.mam_login(server, "bob@localhost/phone", BOB[1])
        archived, _ = await phone.query()
        self.assertEqual(len(archived), 2)
        self.assertIsNone(forwarded(archived[0]).find("{jabber:client}body"))
        self.assertIsNotNone(forwarded(archived[0]).find(f"{{{RETRACT}}}retracted"))
        self.assertIsNotNone(forwarded(archived[1]).find(f"{{{RETRACT}}}retract"))

    async def test_someone_elses_message_is_refused_and_kept(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.mam_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.mam_login(server, "bob@localhost/home", BOB[1])
        m = bob.make_message(mto="alice@localhost", mbody="bob's words", mtype="chat")
        m.send()
        self.assertEqual((await alice.receive())["body"], "bob's words")
        errors = asyncio.Queue()
        alice.add_event_handler("message_error", errors.put_nowait)
        retraction(alice, "bob@localhost", m["id"]).send()
        error = await asyncio.wait_for(errors.get(), TIMEOUT)
        self.assertEqual(error["error"]["condition"], "forbidden")
        await bob.barrier()
        self.assertTrue(bob.inbox.empty())
        for client in (alice, bob):
            archived, _ = await client.query()
            self.assertEqual(bodies(archived), ["bob's words"])


if __name__ == "__main__":
    unittest.main()

"""XEP-0198 stream management with slixmpp's xep_0198 plugin against the real xmppd:
acks, resumption after the client's connection is killed, and what happens to the
messages of a session that is never resumed.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_stream_management
"""

import asyncio
import unittest

import harness
from test_presence import SubscriptionTestCase
from test_slixmpp import ALICE, BOB, Client, SlixmppTestCase

DELAY = "{urn:xmpp:delay}delay"


def modules_toml(settings=""):
    return 'modules = ["roster", "presence", "offline", "ping"]\n\n' + settings


class SmClient(Client):
    """A slixmpp client with stream management (resumable) and awaitable SM events."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_plugin("xep_0198")
        self.sm = self.plugin["xep_0198"]
        self.sm_enabled = asyncio.Event()
        self.resumed = asyncio.Event()
        self.sm_failures = []
        self.acks_sent = 0
        self.add_event_handler("sm_enabled", lambda _: self.sm_enabled.set())
        self.add_event_handler("session_resumed", lambda _: self.resumed.set())
        self.add_event_handler("sm_failed", lambda f: self.sm_failures.append(f))
        sm_send_ack = self.sm.send_ack

        def counting_send_ack():
            self.acks_sent += 1
            sm_send_ack()
        self.sm.send_ack = counting_send_ack

    def kill_connection(self):
        """The phone loses its network: the socket dies without a stream close."""
        self.transport.abort()


class StreamManagementTestCase(SlixmppTestCase):

    async def sm_login(self, server, jid, password):
        client = SmClient(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{jid}: no session")
        await asyncio.wait_for(client.sm_enabled.wait(), harness.TIMEOUT)
        self.assertTrue(client.sm.sm_id, "the server offered no resumption")
        await client.barrier()
        return client

    async def reconnect(self, server, client):
        client.ended.clear()
        client.open(server, "starttls")
        await asyncio.wait_for(client.resumed.wait(), harness.TIMEOUT)

    async def bodies(self, client, count):
        return [(await client.receive())["body"] for _ in range(count)]


class Acks(StreamManagementTestCase):

    async def test_server_acks_what_it_handled_and_asks_for_acks(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.sm_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.sm_login(server, "bob@localhost/phone", BOB[1])
        acked_all = asyncio.Event()
        # stanza_acked fires once per stanza, after it left the queue.
        alice.add_event_handler("stanza_acked", lambda _: None if alice.sm.unacked_queue else acked_all.set())
        for i in range(12):
            alice.send_message(mto="bob@localhost/phone", mbody=f"m{i}", mtype="chat")
        # slixmpp writes <r/> at once, ahead of stanzas still in its send queue: ask only
        # once everything went out (the answered IQ is the last of them).
        await alice.barrier()
        alice.sm.request_ack()
        await asyncio.wait_for(acked_all.wait(), harness.TIMEOUT)
        self.assertFalse(alice.sm.unacked_queue, "the server left stanzas unacknowledged")
        self.assertEqual(await self.bodies(bob, 12), [f"m{i}" for i in range(12)])
        # The server asked bob for an ack on its own (after 5 stanzas by default; one <r/>
        # at a time, so a burst gets one).
        self.assertGreaterEqual(bob.acks_sent, 1)


class Resumption(StreamManagementTestCase):

    async def test_messages_sent_while_the_connection_is_gone_arrive_once_in_order(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.sm_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.sm_login(server, "bob@localhost/phone", BOB[1])
        for i in range(3):
            alice.send_message(mto="bob@localhost/phone", mbody=f"before{i}", mtype="chat")
        self.assertEqual(await self.bodies(bob, 3), ["before0", "before1", "before2"])

        since = server.log.mark()
        bob.kill_connection()
        await self.log_line(server, r"bob@localhost/phone hibernated", since)
        for i in range(5):
            alice.send_message(mto="bob@localhost/phone", mbody=f"away{i}", mtype="chat")
        await alice.barrier()  # the server has routed all five

        await self.reconnect(server, bob)
        alice.send_message(mto="bob@localhost/phone", mbody="after", mtype="chat")
        got = await self.bodies(bob, 6)
        self.assertEqual(got, [f"away{i}" for i in range(5)] + ["after"])
        self.assertTrue(bob.inbox.empty(), "a message arrived twice")
        await self.log_line(server, r"resumed bob@localhost/phone \(5 stanza", since)

    async def test_a_session_not_resumed_in_time_leaves_its_messages_offline(self):
        server = self.start_server_with_users(
            extra_toml=modules_toml() + "[c2s.stream_management]\nresume_timeout = 1\n")
        alice = await self.sm_login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.sm_login(server, "bob@localhost/phone", BOB[1])
        since = server.log.mark()
        bob.kill_connection()
        await self.log_line(server, r"bob@localhost/phone hibernated", since)
        for i in range(3):
            alice.send_message(mto="bob@localhost", mbody=f"away{i}", mtype="chat")
        await alice.barrier()
        await self.log_line(server, r"bob@localhost/phone ended \(not resumed in time\)", since)
        await self.log_line(server, r"\d+ unacknowledged stanza\(s\), 3 message\(s\) routed again", since)

        # A fresh login (no resumption) gets them from offline storage, once each.
        bob2 = await self.login(server, "bob@localhost/laptop", BOB[1])
        got = [await bob2.receive() for _ in range(3)]
        self.assertEqual([m["body"] for m in got], ["away0", "away1", "away2"])
        for m in got:
            self.assertIsNotNone(m.xml.find(DELAY), m)
        alice.send_message(mto="bob@localhost", mbody="live", mtype="chat")
        self.assertEqual((await bob2.receive())["body"], "live")


class HibernatedPresence(SubscriptionTestCase):
    """With keep_presence = false, contacts see a hibernated session go and come back."""

    extra_toml = "\n[c2s.stream_management]\nkeep_presence = false\n"

    async def test_contacts_see_unavailable_while_hibernated_and_available_after_resumption(self):
        alice = await self.login(ALICE, "desk")
        bob = await self.login(BOB, "phone", plugins=("xep_0198",))
        await self.subscribe(alice, bob)
        await self.subscribe(bob, alice)
        resumed = asyncio.Event()
        bob.add_event_handler("session_resumed", lambda _: resumed.set())
        since = self.server.log.mark()
        bob.transport.abort()
        await alice.expect_presence("unavailable", "bob@localhost/phone")
        await asyncio.to_thread(self.server.log.wait_for, r"bob@localhost/phone hibernated", since=since)
        bob.connect(("localhost", bob.default_port))
        await asyncio.wait_for(resumed.wait(), harness.TIMEOUT)
        await alice.expect_presence("available", "bob@localhost/phone")


if __name__ == "__main__":
    unittest.main()

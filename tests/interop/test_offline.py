"""XEP-0160 offline messages (modules/offline) with slixmpp against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_offline
"""

import asyncio
import re
import subprocess
import unittest

import harness

from test_slixmpp import ALICE, BOB, SlixmppTestCase

DELAY = "{urn:xmpp:delay}delay"


def modules_toml(settings=""):
    # The harness has written [server] already and appends this after [hosts."localhost"]:
    # the bare key enables the modules on that host.
    return 'modules = ["offline"]\n\n' + settings


class OfflineTestCase(SlixmppTestCase):

    async def send_while_offline(self, server, sender, to, bodies):
        """`sender` sends chat messages to the offline `to`; returns once all are stored."""
        since = server.log.mark()
        ids = []
        for body in bodies:
            message = sender.make_message(mto=to, mbody=body, mtype="chat")
            ids.append(message["id"])
            message.send()
        for message_id in ids:
            await self.log_line(server, rf"offline: stored message '{re.escape(message_id)}' for {to}", since)

    async def receive_bodies(self, client, count):
        messages = [await client.receive() for _ in range(count)]
        return messages, [m["body"] for m in messages]


class StoreAndDeliver(OfflineTestCase):
    """Messages to an offline account wait for its next available session."""

    async def test_delivered_in_order_with_delay_stamp(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        await self.send_while_offline(server, alice, "bob@localhost", ["one", "two", "three"])

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])  # sends presence
        messages, bodies = await self.receive_bodies(bob, 3)
        self.assertEqual(bodies, ["one", "two", "three"])
        for m in messages:
            self.assertEqual(m["type"], "chat", m)
            self.assertEqual(m["from"].full, "alice@localhost/wonderland", m)
            self.assertEqual(m["to"].full, "bob@localhost/laptop", m)
            delays = m.xml.findall(DELAY)
            self.assertEqual(len(delays), 1, m)
            self.assertEqual(delays[0].get("from"), "localhost", m)
            self.assertRegex(delays[0].get("stamp"), r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

        # Delivered means deleted: the next session finds nothing.
        await bob.close()
        bob2 = await self.login(server, "bob@localhost/desk", BOB[1])
        alice.send_message(mto="bob@localhost", mbody="live", mtype="chat")
        live = await bob2.receive()
        self.assertEqual(live["body"], "live")
        self.assertIsNone(live.xml.find(DELAY), live)

    async def test_headline_and_chat_state_are_not_stored(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        alice.send_message(mto="bob@localhost", mbody="news", mtype="headline")
        typing = alice.make_message(mto="bob@localhost", mtype="chat")
        typing.xml.append(typing.xml.makeelement("{http://jabber.org/protocol/chatstates}composing", {}))
        typing.send()
        # Routed after the two above, in order: once it is stored they were decided on.
        await self.send_while_offline(server, alice, "bob@localhost", ["after"])

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        first = await bob.receive()
        self.assertEqual(first["body"], "after", first)
        self.assertTrue(alice.inbox.empty(), "a dropped headline or chat state must not bounce")

    async def test_stored_messages_survive_a_restart(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        await self.send_while_offline(server, alice, "bob@localhost", ["before restart"])

        await asyncio.to_thread(server.stop)
        await alice.ended.wait()
        server.start()  # same config, same data directory
        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        message = await bob.receive()
        self.assertEqual(message["body"], "before restart")
        self.assertIsNotNone(message.xml.find(DELAY), message)

    async def test_deleting_the_account_deletes_its_messages(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        await self.send_while_offline(server, alice, "bob@localhost", ["for the old bob"])
        subprocess.run([harness.xmppctl_binary(), "--config", server.config_path, "deluser", "bob@localhost"],
                       stdin=subprocess.DEVNULL, capture_output=True, check=True, timeout=harness.TIMEOUT)
        server.add_user(*BOB)
        await self.send_while_offline(server, alice, "bob@localhost", ["for the new bob"])

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        first = await bob.receive()
        self.assertEqual(first["body"], "for the new bob", first)


class Quota(OfflineTestCase):
    """Past max_messages the sender is told resource-constraint; stored ones stay."""

    async def test_third_message_refused_with_resource_constraint(self):
        server = self.start_server_with_users(extra_toml=modules_toml("[modules.offline]\nmax_messages = 2\n"))
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        await self.send_while_offline(server, alice, "bob@localhost", ["one", "two"])
        alice.send_message(mto="bob@localhost", mbody="three", mtype="chat")
        error = await alice.receive()
        self.assertEqual(error["type"], "error", error)
        self.assertEqual(error["error"]["condition"], "resource-constraint", error)
        self.assertEqual(error["error"]["type"], "wait", error)
        self.assertEqual(error["from"].bare, "bob@localhost", error)

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        _, bodies = await self.receive_bodies(bob, 2)
        self.assertEqual(bodies, ["one", "two"])

    async def test_burst_past_the_quota_stores_exactly_max_messages(self):
        # Stored in batches (one transaction per drain): the quota must still hold exactly,
        # counting the messages of the same batch stored before each one.
        burst, room = 300, 100
        server = self.start_server_with_users(
            extra_toml=modules_toml(f"[modules.offline]\nmax_messages = {room}\n"))
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        since = server.log.mark()
        ids = []
        for i in range(burst):
            message = alice.make_message(mto="bob@localhost", mbody=str(i), mtype="chat")
            ids.append(message["id"])
            message.send()

        # The first `room` are stored, every later one is refused, in order.
        errors = [await alice.receive() for _ in range(burst - room)]
        self.assertEqual([e["id"] for e in errors], ids[room:])
        for error in errors:
            self.assertEqual(error["type"], "error", error)
            self.assertEqual(error["error"]["condition"], "resource-constraint", error)
        await self.log_line(server, rf"offline: stored message '{re.escape(ids[room - 1])}' for bob@localhost", since)
        self.assertEqual(len(server.log.matching(r"offline: stored message '.*' for bob@localhost", since)), room)

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        _, bodies = await self.receive_bodies(bob, room)
        self.assertEqual(bodies, [str(i) for i in range(room)])
        # Anything more was sent to bob and alice before these round trips are answered.
        await bob.barrier()
        await alice.barrier()
        self.assertTrue(bob.inbox.empty(), "more than max_messages delivered")
        self.assertTrue(alice.inbox.empty(), "more errors than refused messages")


if __name__ == "__main__":
    unittest.main()

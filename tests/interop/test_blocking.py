"""XEP-0191 Blocking Command: slixmpp clients against the real xmppd with the blocking module.

    XMPPD_BUILD_DIR=... /usr/bin/python3 -m unittest -v test_blocking     (from tests/interop/)
"""

import asyncio
import unittest

import slixmpp

from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, Client, SlixmppTestCase

MODULES = 'modules = ["disco", "blocking"]\n'  # lands in [hosts."localhost"]


class BlockingTestCase(SlixmppTestCase):

    def start_blocking_server(self):
        server = self.start_server(extra_toml=MODULES)
        server.add_user(*ALICE)
        server.add_user(*BOB)
        return server

    async def connect(self, server, jid, password):
        """A logged-in client with the blocking plugin, its pushes and errors queued."""
        client = Client(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.register_plugin("xep_0191")
        client.register_plugin("xep_0199")  # pings: an IQ request to aim at blocked contacts
        client.pushes = asyncio.Queue()
        client.errors = asyncio.Queue()
        client.presences = asyncio.Queue()
        client.add_event_handler("blocked", lambda iq: client.pushes.put_nowait(("block", iq)))
        client.add_event_handler("unblocked", lambda iq: client.pushes.put_nowait(("unblock", iq)))
        client.add_event_handler("message_error", client.errors.put_nowait)
        client.add_event_handler("presence_available", client.presences.put_nowait)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{jid}: no session")
        await client.barrier()
        return client

    async def blocklist(self, client):
        reply = await client["xep_0191"].get_blocked(timeout=TIMEOUT)
        return sorted(str(j) for j in reply["blocklist"]["items"])

    async def next_of(self, queue, what):
        try:
            return await asyncio.wait_for(queue.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"no {what} within {TIMEOUT}s") from None

    async def iq_error(self, future):
        with self.assertRaises(slixmpp.exceptions.IqError) as caught:
            await future
        return caught.exception.iq


class Blocklist(BlockingTestCase):
    """Retrieving, blocking and unblocking, with pushes and persistence."""

    async def test_block_unblock_pushes_and_persistence(self):
        server = self.start_blocking_server()
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        other = await self.connect(server, "alice@localhost/two", ALICE[1])
        self.assertEqual(await self.blocklist(alice), [])
        self.assertEqual(await self.blocklist(other), [])  # now `other` gets pushes

        await alice["xep_0191"].block(["bob@localhost", "spam.example"], timeout=TIMEOUT)
        kind, push = await self.next_of(other.pushes, "block push")
        self.assertEqual(kind, "block")
        self.assertEqual(sorted(str(j) for j in push["block"]["items"]), ["bob@localhost", "spam.example"])
        self.assertEqual(await self.blocklist(other), ["bob@localhost", "spam.example"])

        await alice["xep_0191"].unblock(["spam.example"], timeout=TIMEOUT)
        kind, push = await self.next_of(other.pushes, "unblock push")
        self.assertEqual((kind, [str(j) for j in push["unblock"]["items"]]), ("unblock", ["spam.example"]))

        # The list outlives the sessions.
        await alice.close()
        await other.close()
        again = await self.connect(server, "alice@localhost/three", ALICE[1])
        self.assertEqual(await self.blocklist(again), ["bob@localhost"])

        # An empty unblock clears everything, and says so in the push.
        await again["xep_0191"].unblock([], timeout=TIMEOUT)
        kind, push = await self.next_of(again.pushes, "unblock-all push")
        self.assertEqual((kind, list(push["unblock"]["items"])), ("unblock", []))
        self.assertEqual(await self.blocklist(again), [])

    async def test_bad_requests_change_nothing(self):
        server = self.start_blocking_server()
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        error = await self.iq_error(alice["xep_0191"].block([], timeout=TIMEOUT))
        self.assertEqual(error["error"]["condition"], "bad-request")
        iq = alice.make_iq_set()
        iq["block"]["items"] = ["bob@localhost"]
        iq["block"].xml[0].set("jid", "bad@@jid")
        error = await self.iq_error(iq.send(timeout=TIMEOUT))
        self.assertEqual(error["error"]["condition"], "jid-malformed")
        self.assertEqual(await self.blocklist(alice), [])

    async def test_nobody_reads_another_users_blocklist(self):
        server = self.start_blocking_server()
        bob = await self.connect(server, "bob@localhost/laptop", BOB[1])
        error = await self.iq_error(self._foreign_get(bob))
        self.assertEqual(error["error"]["condition"], "service-unavailable")

    def _foreign_get(self, client):
        iq = client.make_iq_get(ito="alice@localhost")
        iq.enable("blocklist")
        return iq.send(timeout=TIMEOUT)


class Enforcement(BlockingTestCase):
    """What a block does to stanzas in both directions."""

    async def blocked_pair(self, server, item="bob@localhost"):
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        bob = await self.connect(server, "bob@localhost/laptop", BOB[1])
        await alice["xep_0191"].block([item], timeout=TIMEOUT)
        return alice, bob

    async def test_incoming_from_blocked_contact(self):
        server = self.start_blocking_server()
        alice, bob = await self.blocked_pair(server)

        # A message: never delivered, the sender gets service-unavailable.
        bob.send_message(mto="alice@localhost", mbody="let me in", mtype="chat")
        error = await self.next_of(bob.errors, "message error")
        self.assertEqual(error["error"]["condition"], "service-unavailable")
        # An IQ request: service-unavailable too.
        ping = bob.make_iq_get(ito=alice.boundjid.full)
        ping.enable("ping")
        error = await self.iq_error(ping.send(timeout=TIMEOUT))
        self.assertEqual(error["error"]["condition"], "service-unavailable")
        # Directed presence: dropped without an answer.
        bob.send_presence(pto="alice@localhost")
        await bob.barrier()

        await alice["xep_0191"].unblock(["bob@localhost"], timeout=TIMEOUT)
        bob.send_message(mto="alice@localhost", mbody="now?", mtype="chat")
        message = await alice.receive()
        self.assertEqual(message["body"], "now?", "the blocked message was delivered after all")
        self.assertTrue(alice.presences.empty(), "the blocked presence was delivered")

    async def test_messages_for_a_user_who_is_offline_are_blocked_too(self):
        server = self.start_server(extra_toml='modules = ["roster", "presence", "offline", "disco", "blocking"]\n')
        server.add_user(*ALICE)
        server.add_user(*BOB)
        alice, bob = await self.blocked_pair(server)
        await self._close_quietly(alice)
        # Alice is offline, before and after a restart (the list is read from storage at
        # start): Bob's message is refused, not stored for her.
        for restart in (False, True):
            if restart:
                await self._close_quietly(bob)
                server.stop()
                server.start()
                bob = await self.connect(server, "bob@localhost/laptop", BOB[1])
            bob.send_message(mto="alice@localhost", mbody=f"for later ({restart})", mtype="chat")
            error = await self.next_of(bob.errors, "message error")
            self.assertEqual(error["error"]["condition"], "service-unavailable")
        # Unblocked (while online), then offline again: this one is kept for her.
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        await alice["xep_0191"].unblock(["bob@localhost"], timeout=TIMEOUT)
        await self._close_quietly(alice)
        bob.send_message(mto="alice@localhost", mbody="kept", mtype="chat")
        await bob.barrier()
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        message = await alice.receive()
        self.assertEqual(message["body"], "kept", "an earlier, blocked message was stored after all")

    async def test_outgoing_to_blocked_contact(self):
        server = self.start_blocking_server()
        alice, bob = await self.blocked_pair(server)
        alice.send_message(mto="bob@localhost", mbody="psst", mtype="chat")
        error = await self.next_of(alice.errors, "message error")
        self.assertEqual(error["error"]["condition"], "not-acceptable")
        self.assertEqual(error["error"]["type"], "cancel")  # §3.6: retrying will not help
        self.assertIsNotNone(error.xml.find(".//{urn:xmpp:blocking:errors}blocked"), error)

        ping = alice.make_iq_get(ito=bob.boundjid.full)
        ping.enable("ping")
        error = await self.iq_error(ping.send(timeout=TIMEOUT))
        self.assertEqual(error["error"]["condition"], "not-acceptable")
        self.assertIsNotNone(error.xml.find(".//{urn:xmpp:blocking:errors}blocked"), error)
        self.assertTrue(bob.inbox.empty(), "a message to a blocked contact was delivered")

    async def test_full_jid_item_blocks_only_that_resource(self):
        server = self.start_blocking_server()
        alice, bob = await self.blocked_pair(server, item="bob@localhost/laptop")
        phone = await self.connect(server, "bob@localhost/phone", BOB[1])
        bob.send_message(mto="alice@localhost", mbody="from the laptop", mtype="chat")
        error = await self.next_of(bob.errors, "message error")
        self.assertEqual(error["error"]["condition"], "service-unavailable")
        phone.send_message(mto="alice@localhost", mbody="from the phone", mtype="chat")
        self.assertEqual((await alice.receive())["body"], "from the phone")

    async def test_domain_item_blocks_everyone_there(self):
        server = self.start_blocking_server()
        alice, bob = await self.blocked_pair(server, item="localhost")
        bob.send_message(mto="alice@localhost", mbody="hi", mtype="chat")
        error = await self.next_of(bob.errors, "message error")
        self.assertEqual(error["error"]["condition"], "service-unavailable")



class PresenceSideEffects(BlockingTestCase):
    """§3.3/§3.4: a contact just blocked sees the user go offline, and comes back to see the
    user's presence once unblocked."""

    async def test_block_sends_unavailable_and_unblock_current_presence(self):
        server = self.start_server(extra_toml='modules = ["disco", "blocking", "roster", "presence"]\n')
        server.add_user(*ALICE)
        server.add_user(*BOB)
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        bob = await self.connect(server, "bob@localhost/laptop", BOB[1])
        bob.unavailable = asyncio.Queue()
        bob.add_event_handler("presence_unavailable", bob.unavailable.put_nowait)
        # Mutual subscription: slixmpp approves and subscribes back by itself.
        alice.send_presence(pto="bob@localhost", ptype="subscribe")
        while (await self.next_of(bob.presences, "alice's presence"))["from"].full != "alice@localhost/one":
            pass

        await alice["xep_0191"].block(["bob@localhost"], timeout=TIMEOUT)
        gone = await self.next_of(bob.unavailable, "unavailable from alice")
        self.assertEqual(gone["from"].full, "alice@localhost/one")

        await alice["xep_0191"].unblock(["bob@localhost"], timeout=TIMEOUT)
        back = await self.next_of(bob.presences, "alice's presence again")
        self.assertEqual(back["from"].full, "alice@localhost/one")

        # Unblocking everyone (an empty unblock, §3.5) gives each one on the list the same.
        await alice["xep_0191"].block(["bob@localhost", "nobody@localhost"], timeout=TIMEOUT)
        await self.next_of(bob.unavailable, "unavailable from alice")
        everyone = alice.make_iq_set()  # slixmpp's unblock() wants a JID
        everyone.enable("unblock")
        await everyone.send(timeout=TIMEOUT)
        self.assertEqual(await self.blocklist(alice), [])
        back = await self.next_of(bob.presences, "alice's presence after unblocking all")
        self.assertEqual(back["from"].full, "alice@localhost/one")


if __name__ == "__main__":
    unittest.main()

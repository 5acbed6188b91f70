"""XEP-0012 Last Activity (modules/last) with slixmpp against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_last
"""

import asyncio
import unittest

from slixmpp.exceptions import IqError

from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, SlixmppTestCase


def modules_toml():
    # Appended after [hosts."localhost"]: the bare key enables the modules on that host.
    # Last activity is only for those subscribed to the account's presence.
    return 'modules = ["roster", "presence", "last"]\n'


class LastActivityTestCase(SlixmppTestCase):

    async def login_with_last(self, server, jid, password):
        client = await self.login(server, jid, password)
        client.register_plugin("xep_0012")
        return client

    async def seconds(self, client, jid):
        reply = await client["xep_0012"].get_last_activity(jid, timeout=TIMEOUT)
        return int(reply["last_activity"]["seconds"])

    async def subscribe(self, subscriber, contact_jid):
        """subscriber asks to see contact_jid's presence; slixmpp's contact approves by default."""
        approved = asyncio.Event()
        subscriber.add_event_handler(
            "presence_subscribed", lambda p: approved.set() if p["from"].bare == contact_jid else None)
        subscriber.send_presence(pto=contact_jid, ptype="subscribe")
        await asyncio.wait_for(approved.wait(), TIMEOUT)


class Accounts(LastActivityTestCase):
    """An account's idle time since its last logout; 0 while it is online."""

    async def test_online_zero_then_time_since_logout(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_last(server, "alice@localhost/wonderland", ALICE[1])
        bob = await self.login_with_last(server, "bob@localhost/laptop", BOB[1])
        await self.subscribe(alice, "bob@localhost")
        self.assertEqual(await self.seconds(alice, "bob@localhost"), 0)

        await bob.close()
        await self.log_line(server, r"bob@localhost/laptop disconnected")
        # The logout write was queued before that line; the query's read is queued after it
        # on the same storage thread, so it sees the write.
        seconds = await self.seconds(alice, "bob@localhost")
        self.assertGreaterEqual(seconds, 0)
        self.assertLess(seconds, 60)

    async def test_status_of_the_last_unavailable_presence(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_last(server, "alice@localhost/wonderland", ALICE[1])
        bob = await self.login_with_last(server, "bob@localhost/laptop", BOB[1])
        phone = await self.login_with_last(server, "bob@localhost/phone", BOB[1])
        await self.subscribe(alice, "bob@localhost")
        # RFC 6121 §4.5.2: the other resource sees the unavailable presence, status and all.
        gone = asyncio.Queue()
        bob.add_event_handler("presence_unavailable", gone.put_nowait)
        phone.send_presence(ptype="unavailable", pstatus="Gone fishing")
        seen = await asyncio.wait_for(gone.get(), TIMEOUT)
        while seen["from"].full != "bob@localhost/phone":
            seen = await asyncio.wait_for(gone.get(), TIMEOUT)
        self.assertEqual(seen["status"], "Gone fishing")
        await phone.close()
        await bob.close()
        await self.log_line(server, r"bob@localhost/laptop disconnected")
        await self.log_line(server, r"bob@localhost/phone disconnected")
        # XEP-0012 §4: the last logout's status comes with the idle time. Here the laptop
        # closed last, having said nothing: no text.
        reply = await alice["xep_0012"].get_last_activity("bob@localhost", timeout=TIMEOUT)
        self.assertFalse(reply["last_activity"]["status"])

        bob = await self.login_with_last(server, "bob@localhost/laptop", BOB[1])
        bob.send_presence(ptype="unavailable", pstatus="Back on Monday")
        await bob.barrier()
        since = server.log.mark()
        await bob.close()
        await self.log_line(server, r"bob@localhost/laptop disconnected", since)
        reply = await alice["xep_0012"].get_last_activity("bob@localhost", timeout=TIMEOUT)
        self.assertEqual(reply["last_activity"]["status"], "Back on Monday")

    async def test_own_account_is_zero_while_online(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_last(server, "alice@localhost/wonderland", ALICE[1])
        self.assertEqual(await self.seconds(alice, "alice@localhost"), 0)

    async def test_unsubscribed_requester_is_forbidden(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_last(server, "alice@localhost/wonderland", ALICE[1])
        await self.login_with_last(server, "bob@localhost/laptop", BOB[1])
        with self.assertRaises(IqError) as raised:
            await self.seconds(alice, "bob@localhost")
        self.assertEqual(raised.exception.iq["error"]["condition"], "forbidden")


class Server(LastActivityTestCase):
    """The server answers with its uptime."""

    async def test_uptime(self):
        server = self.start_server_with_users(extra_toml=modules_toml())
        alice = await self.login_with_last(server, "alice@localhost/wonderland", ALICE[1])
        uptime = await self.seconds(alice, "localhost")
        self.assertGreaterEqual(uptime, 0)
        self.assertLess(uptime, 60)


if __name__ == "__main__":
    unittest.main()

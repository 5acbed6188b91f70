"""OMEMO end to end through xmppd: two Profanity instances (Debian's terminal client, which
speaks OMEMO, each in tmux) generate their keys, publish them with PEP (modules/pep), and
one sends the other an encrypted message, which the other decrypts and shows in clear.
The server's archive holds only the ciphertext.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_omemo_profanity
"""

import asyncio
import re
import unittest
import xml.etree.ElementTree as ET

from harness import TIMEOUT
from test_carbons_profanity import Profanity
from test_roster import ImClient
from test_mam import MamClient, forwarded
from test_slixmpp import ALICE, BOB, SlixmppTestCase

MODULES = 'modules = ["roster", "presence", "disco", "pep", "carbons", "offline", "mam"]\n'
AXOLOTL = "eu.siacs.conversations.axolotl"
SECRET = "the eagle lands at midnight"


class OmemoBetweenProfanities(SlixmppTestCase):

    async def profanity(self, server, account):
        jid, password = account
        p = Profanity()
        self.addCleanup(p.close)
        p.type(f"/connect {jid} server 127.0.0.1 port {server.starttls_port} tls force")
        await asyncio.to_thread(p.wait_for, r"[Pp]assword")
        p.type(password)
        await asyncio.to_thread(p.wait_for, r"/tls allow")  # our self-signed certificate
        p.type("/tls allow")
        await asyncio.to_thread(p.wait_for, r"logged in successfully")
        return p

    async def roster_watcher(self, server, account):
        jid, password = account
        client = ImClient(f"{jid}/watcher", password, server.ca_file, available=False)
        client.default_port = server.starttls_port
        client.connect(("localhost", client.default_port))
        self.addAsyncCleanup(self._close_quietly, client)
        await asyncio.wait_for(client.session_started.wait(), TIMEOUT)
        return client

    async def subscription(self, watcher, contact, state):
        while True:
            item, _ = await watcher.next_push(contact)
            if item["subscription"] == state:
                return

    async def test_encrypted_message_is_decrypted_by_the_other_client(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.profanity(server, ALICE)
        bob = await self.profanity(server, BOB)
        # Contacts both ways, as people who chat are; each account's roster pushes, seen by
        # a watching resource, say when a step is through.
        watch = {name: await self.roster_watcher(server, account) for name, account in (("alice", ALICE), ("bob", BOB))}
        alice.type("/sub request bob@localhost")
        await asyncio.to_thread(bob.wait_for, r"authorization request from alice@localhost")
        bob.type("/sub allow alice@localhost")
        await self.subscription(watch["alice"], "bob@localhost", "to")
        bob.type("/sub request alice@localhost")
        await asyncio.to_thread(alice.wait_for, r"authorization request from bob@localhost")
        alice.type("/sub allow bob@localhost")
        await self.subscription(watch["alice"], "bob@localhost", "both")
        await self.subscription(watch["bob"], "alice@localhost", "both")
        # Keys: each publishes its device list and bundle with PEP.
        for client, account in ((alice, ALICE), (bob, BOB)):
            since = server.log.mark()
            client.type("/omemo gen")
            for node in (rf"{AXOLOTL}\.devicelist", rf"{AXOLOTL}\.bundles:\d+"):
                await self.log_line(server, rf"pubsub: {re.escape(account[0])} published {re.escape(account[0])} {node} item", since)
            client.type("/omemo trustmode blind")

        alice.type("/msg bob@localhost")
        alice.type("/omemo start")
        await asyncio.to_thread(alice.wait_for, r"\[OMEMO\]")
        alice.type(SECRET)
        # Bob's client fetched Alice's keys, decrypted, and shows the text (OMEMO messages
        # are marked with '~').
        await asyncio.to_thread(bob.wait_for, r"\[2\]|-2-")
        bob.type("/win 2")
        await asyncio.to_thread(bob.wait_for, rf"~ alice@localhost\S*: {SECRET}")

        # What the server kept is ciphertext: the archived message has an OMEMO payload and
        # no plain text anywhere.
        reader = MamClient("bob@localhost/reader", BOB[1], "SCRAM-SHA-256", server.ca_file)
        reader.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, reader)
        self.assertTrue(await reader.outcome())
        results, _ = await reader.query(fields={"with": "alice@localhost"})
        encrypted = [r for r in results if forwarded(r).find(f"{{{AXOLOTL}}}encrypted") is not None]
        self.assertEqual(len(encrypted), 1, [ET.tostring(r, encoding="unicode") for r in results])
        self.assertNotIn(SECRET, "".join(ET.tostring(r, encoding="unicode") for r in results))


if __name__ == "__main__":
    unittest.main()

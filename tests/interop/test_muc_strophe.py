"""XEP-0045 with libstrophe (tests/interop/strophe_muc.c) and slixmpp together in one room
of the real xmppd: a libstrophe client creates an instant room and talks, a slixmpp client
joins, gets the history and answers, a second libstrophe client joins and leaves.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_muc_strophe
"""

import asyncio
import subprocess
import unittest

import harness
from harness import TIMEOUT
from muc_support import USERS, MucTestCase, item, room_jid


class StropheMuc:
    """One strophe_muc process; its stdout lines are collected as they come."""

    def __init__(self, server, name, room, nick, *options):
        args = [harness.binary("STROPHE_MUC", "tests/interop/strophe_muc"), f"{name}@localhost/strophe",
                USERS[name], "127.0.0.1", str(server.port("starttls")), room, nick,
                "--cafile", server.ca_file, "--timeout", str(int(TIMEOUT)), *options]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        self.output = harness.LineCollector(self.process.stdout, f"strophe_muc {name}")

    def finish(self):
        try:
            code = self.process.wait(TIMEOUT + 5)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        self.output.join()
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def text(self):
        return "\n".join(self.output.lines())


class StropheAndSlixmpp(MucTestCase):

    def strophe(self, *args):
        client = StropheMuc(*args)
        self.addCleanup(client.kill)
        return client

    async def wait_line(self, client, pattern):
        return await asyncio.to_thread(client.output.wait_for, pattern)

    async def test_two_libraries_share_a_room(self):
        server = self.start_muc_server()
        room = room_jid("mixed")
        alice = self.strophe(server, "alice", room, "AliceS", "--create", "--say", "hello from strophe",
                             "--expect", "2")
        await self.wait_line(alice, r"^JOINED .*201")
        await self.wait_line(alice, r"^CONFIGURED$")
        await self.wait_line(alice, r"^GROUPCHAT mixed@conference\.localhost/AliceS hello from strophe$")

        bob = await self.connect(server, "bob")
        presence, subject, occupants, history = await bob.join(room, "Bob", maxstanzas=5)
        self.assertEqual([p["from"].full for p in occupants], [f"{room}/AliceS"])
        self.assertEqual(item(occupants[0])["affiliation"], "owner")
        self.assertEqual([(m["from"].full, m["body"]) for m in history],
                         [(f"{room}/AliceS", "hello from strophe")])
        await self.wait_line(alice, r"^PRESENCE mixed@conference\.localhost/Bob available participant none -$")

        # A second libstrophe client comes in, gets the history, and leaves at once.
        carol = self.strophe(server, "carol", room, "CarolS", "--history", "10")
        await self.wait_line(carol, r"^HISTORY mixed@conference\.localhost/AliceS hello from strophe$")
        await self.wait_line(carol, r"^SUBJECT mixed@conference\.localhost ")
        await self.wait_line(carol, r"^LEFT$")
        self.assertEqual(carol.finish(), 0, carol.text())
        await bob.presence_from(f"{room}/CarolS", type="available")
        await bob.presence_from(f"{room}/CarolS", type="unavailable")

        bob.send_message(mto=room, mbody="hi strophe", mtype="groupchat")
        await self.wait_line(alice, r"^GROUPCHAT mixed@conference\.localhost/Bob hi strophe$")
        await self.wait_line(alice, r"^LEFT$")
        self.assertEqual(alice.finish(), 0, alice.text())
        await bob.presence_from(f"{room}/AliceS", type="unavailable")


if __name__ == "__main__":
    unittest.main()

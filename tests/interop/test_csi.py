"""XEP-0352 client state indication with slixmpp's xep_0352 plugin against the real
xmppd: an inactive client gets no presence flood and no bare chat states until something
important arrives, and then everything held, in order.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_csi
"""

import asyncio
import unittest

from test_slixmpp import ALICE, BOB, Client, SlixmppTestCase

MODULES = 'modules = ["roster", "presence", "offline", "ping"]\n'
CHAT_STATES = "http://jabber.org/protocol/chatstates"


class RecordingClient(Client):
    """Keeps every stanza it receives, in order, as a short description."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_plugin("xep_0352")
        self.seen = asyncio.Queue()
        self.add_filter("in", self._record)

    def _record(self, stanza):
        if stanza.name == "presence" and stanza["from"].bare == "alice@localhost":
            self.seen.put_nowait(f"presence {stanza['status']}")
        elif stanza.name == "message":
            state = next((c.tag.split("}")[1] for c in stanza.xml if c.tag.startswith("{" + CHAT_STATES)), "")
            self.seen.put_nowait(f"message {stanza['body'] or state}")
        return stanza

    async def next_seen(self):
        return await asyncio.wait_for(self.seen.get(), 15)


class ClientState(SlixmppTestCase):

    async def test_inactive_client_gets_held_stanzas_in_order_when_something_matters(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        alice = await self.login(server, "alice@localhost/desk", ALICE[1])
        bob = RecordingClient("bob@localhost/phone", BOB[1], "SCRAM-SHA-256", server.ca_file)
        bob.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, bob)
        self.assertTrue(await bob.outcome())
        await bob.barrier()
        bob.plugin["xep_0352"].send_inactive()
        await bob.barrier()  # answered: the server has read <inactive/>

        def typing(state):
            m = alice.make_message(mto="bob@localhost/phone", mtype="chat")
            m.xml.append(m.xml.makeelement("{%s}%s" % (CHAT_STATES, state), {}))
            m.send()

        alice.send_presence(pto="bob@localhost/phone", pstatus="first")
        typing("composing")
        alice.send_presence(pto="bob@localhost/phone", pstatus="second")
        alice.send_presence(pto="bob@localhost/phone", pstatus="third")
        alice.send_message(mto="bob@localhost/phone", mbody="wake up", mtype="chat")
        # Only the latest presence of alice is left, at its place; the message with a
        # body brought everything out.
        got = [await bob.next_seen() for _ in range(3)]
        self.assertEqual(got, ["message composing", "presence third", "message wake up"])

        # Becoming active sends what was held.
        alice.send_presence(pto="bob@localhost/phone", pstatus="fourth")
        typing("paused")
        await alice.barrier()
        bob.plugin["xep_0352"].send_active()
        got = [await bob.next_seen() for _ in range(2)]
        self.assertEqual(got, ["presence fourth", "message paused"])
        # Active: stanzas flow at once again.
        alice.send_presence(pto="bob@localhost/phone", pstatus="fifth")
        self.assertEqual(await bob.next_seen(), "presence fifth")


if __name__ == "__main__":
    unittest.main()

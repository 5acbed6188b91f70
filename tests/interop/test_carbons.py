"""XEP-0280 message carbons (modules/carbons) with slixmpp's xep_0280 plugin against the
real xmppd: two resources of one account see each other's conversations.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_carbons
"""

import asyncio
import unittest

from test_slixmpp import ALICE, BOB, Client, SlixmppTestCase

MODULES = 'modules = ["roster", "presence", "carbons", "disco", "offline"]\n'


class CarbonsClient(Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_plugin("xep_0030")
        self.register_plugin("xep_0280")
        self.carbons = asyncio.Queue()  # ("sent" | "received", the forwarded message)
        self.add_event_handler(
            "carbon_sent", lambda m: self.carbons.put_nowait(("sent", m["carbon_sent"])))
        self.add_event_handler(
            "carbon_received", lambda m: self.carbons.put_nowait(("received", m["carbon_received"])))

    async def next_carbon(self):
        return await asyncio.wait_for(self.carbons.get(), 15)


class Carbons(SlixmppTestCase):

    async def login_carbons(self, server, jid, password, enable=True):
        client = CarbonsClient(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{jid}: no session")
        if enable:
            await client.plugin["xep_0280"].enable(timeout=15)
        return client

    async def test_each_resource_sees_what_the_other_sent_and_received(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        desk = await self.login_carbons(server, "alice@localhost/desk", ALICE[1])
        phone = await self.login_carbons(server, "alice@localhost/phone", ALICE[1])
        bob = await self.login(server, "bob@localhost/home", BOB[1])

        info = await desk.plugin["xep_0030"].get_info(jid="localhost", timeout=15)
        self.assertIn("urn:xmpp:carbons:2", info["disco_info"]["features"])

        bob.send_message(mto="alice@localhost/desk", mbody="hello desk", mtype="chat")
        self.assertEqual((await desk.receive())["body"], "hello desk")
        direction, copy = await phone.next_carbon()
        self.assertEqual(direction, "received")
        self.assertEqual(copy["body"], "hello desk")
        self.assertEqual(copy["from"].full, "bob@localhost/home")
        self.assertEqual(copy["to"].full, "alice@localhost/desk")

        desk.send_message(mto="bob@localhost/home", mbody="hi bob", mtype="chat")
        self.assertEqual((await bob.receive())["body"], "hi bob")
        direction, copy = await phone.next_carbon()
        self.assertEqual((direction, copy["body"]), ("sent", "hi bob"))
        self.assertEqual(copy["from"].full, "alice@localhost/desk")
        # The sender gets no copy of its own message.
        self.assertTrue(desk.carbons.empty())

    async def test_private_no_copy_and_disabled_resources_get_no_copy(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        desk = await self.login_carbons(server, "alice@localhost/desk", ALICE[1])
        phone = await self.login_carbons(server, "alice@localhost/phone", ALICE[1])
        bob = await self.login(server, "bob@localhost/home", BOB[1])

        private = desk.make_message(mto="bob@localhost/home", mbody="private", mtype="chat")
        private.xml.append(private.xml.makeelement("{urn:xmpp:carbons:2}private", {}))
        private.send()
        no_copy = desk.make_message(mto="bob@localhost/home", mbody="no-copy", mtype="chat")
        no_copy.xml.append(no_copy.xml.makeelement("{urn:xmpp:hints}no-copy", {}))
        no_copy.send()
        desk.send_message(mto="bob@localhost/home", mbody="headline", mtype="headline")
        desk.send_message(mto="bob@localhost/home", mbody="copied", mtype="chat")
        # In order: the first copy the phone sees is the last message.
        direction, copy = await phone.next_carbon()
        self.assertEqual((direction, copy["body"]), ("sent", "copied"))

        await phone.plugin["xep_0280"].disable(timeout=15)
        desk.send_message(mto="bob@localhost/home", mbody="while disabled", mtype="chat")
        for body in ("private", "no-copy", "headline", "copied", "while disabled"):
            self.assertEqual((await bob.receive())["body"], body)
        await phone.plugin["xep_0280"].enable(timeout=15)
        desk.send_message(mto="bob@localhost/home", mbody="enabled again", mtype="chat")
        direction, copy = await phone.next_carbon()
        self.assertEqual(copy["body"], "enabled again")


if __name__ == "__main__":
    unittest.main()

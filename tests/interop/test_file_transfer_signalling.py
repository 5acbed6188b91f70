"""Peer-to-peer file transfer signalling between two clients through ordinary routing:
XEP-0047 In-Band Bytestreams (slixmpp's xep_0047 plugin, over IQs and over messages) and
XEP-0234 Jingle File Transfer offers (raw Jingle IQs: slixmpp 1.8 has no Jingle plugin).
The server needs no module for these: it must carry the stanzas intact, full JID to full
JID, and answer for a resource that is not there.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_file_transfer_signalling
"""

import asyncio
import hashlib
import os
import unittest
import xml.etree.ElementTree as ET

from slixmpp.exceptions import IqError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, SlixmppTestCase

JINGLE = "urn:xmpp:jingle:1"
FILE_TRANSFER = "urn:xmpp:jingle:apps:file-transfer:5"
IBB_TRANSPORT = "urn:xmpp:jingle:transports:ibb:1"
HASHES = "urn:xmpp:hashes:2"


class Signalling(SlixmppTestCase):

    async def login_pair(self):
        server = self.start_server_with_users(extra_toml='modules = ["disco"]\n')
        alice = await self.login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.login(server, "bob@localhost/phone", BOB[1])
        return server, alice, bob

    async def ibb_transfer(self, alice, bob, data, use_messages):
        for client in (alice, bob):
            client.register_plugin("xep_0047")
        bob["xep_0047"].auto_accept = True
        incoming = asyncio.get_running_loop().create_future()
        bob.add_event_handler("ibb_stream_start",
                              lambda stream: incoming.done() or incoming.set_result(stream))
        stream = await alice["xep_0047"].open_stream(bob.boundjid.full, block_size=4096,
                                                     use_messages=use_messages, timeout=TIMEOUT)
        bob_stream = await asyncio.wait_for(incoming, TIMEOUT)
        self.assertEqual(bob_stream.peer_jid.full, alice.boundjid.full)
        gathered = asyncio.ensure_future(bob_stream.gather(timeout=TIMEOUT))
        await stream.sendall(data, timeout=TIMEOUT)
        await stream.close(timeout=TIMEOUT)
        return await gathered

    async def test_ibb_over_iqs(self):
        _, alice, bob = await self.login_pair()
        data = os.urandom(64 * 1024)
        received = await self.ibb_transfer(alice, bob, data, use_messages=False)
        self.assertEqual(hashlib.sha256(received).digest(), hashlib.sha256(data).digest())

    async def test_ibb_over_messages(self):
        _, alice, bob = await self.login_pair()
        data = os.urandom(16 * 1024)
        received = await self.ibb_transfer(alice, bob, data, use_messages=True)
        self.assertEqual(received, data)

    async def test_ibb_open_to_an_absent_resource(self):
        _, alice, bob = await self.login_pair()
        alice.register_plugin("xep_0047")
        with self.assertRaises(IqError) as raised:
            await alice["xep_0047"].open_stream("bob@localhost/elsewhere", timeout=TIMEOUT)
        self.assertEqual(raised.exception.iq["error"]["condition"], "service-unavailable")

    async def test_jingle_file_offer_accept_terminate(self):
        _, alice, bob = await self.login_pair()
        inboxes = {}
        for client in (alice, bob):
            inbox = inboxes[client] = asyncio.Queue()

            def on_jingle(iq, client=client, inbox=inbox):
                inbox.put_nowait(iq)
                iq.reply(clear=True).send()
            client.register_handler(Callback(
                "jingle", MatchXPath(f"{{jabber:client}}iq/{{{JINGLE}}}jingle"), on_jingle))

        async def jingle(sender, recipient, action, payload=""):
            iq = sender.make_iq_set(ito=recipient.boundjid.full)
            iq.append(ET.fromstring(
                f"<jingle xmlns='{JINGLE}' action='{action}' sid='jft1' "
                f"initiator='{alice.boundjid.full}'>{payload}</jingle>"))
            reply = await iq.send(timeout=TIMEOUT)
            self.assertEqual(reply["type"], "result")
            received = await asyncio.wait_for(inboxes[recipient].get(), TIMEOUT)
            self.assertEqual(received["from"].full, sender.boundjid.full)
            return received.xml.find(f"{{{JINGLE}}}jingle")

        digest = "2AfMGH8O7UNPTvUVAM9aK13mpCY="
        offer = (f"<content creator='initiator' name='a-file' senders='initiator'>"
                 f"<description xmlns='{FILE_TRANSFER}'><file>"
                 f"<media-type>text/plain</media-type><name>notes ü.txt</name><size>1234</size>"
                 f"<hash xmlns='{HASHES}' algo='sha-1'>{digest}</hash></file></description>"
                 f"<transport xmlns='{IBB_TRANSPORT}' block-size='4096' sid='ibb-1'/></content>")
        got = await jingle(alice, bob, "session-initiate", offer)
        self.assertEqual(got.get("action"), "session-initiate")
        file = got.find(f"{{{JINGLE}}}content/{{{FILE_TRANSFER}}}description/{{{FILE_TRANSFER}}}file")
        self.assertEqual(file.findtext(f"{{{FILE_TRANSFER}}}name"), "notes ü.txt")
        self.assertEqual(file.findtext(f"{{{FILE_TRANSFER}}}size"), "1234")
        self.assertEqual(file.find(f"{{{HASHES}}}hash").get("algo"), "sha-1")
        self.assertEqual(file.findtext(f"{{{HASHES}}}hash"), digest)
        transport = got.find(f"{{{JINGLE}}}content/{{{IBB_TRANSPORT}}}transport")
        self.assertEqual((transport.get("block-size"), transport.get("sid")), ("4096", "ibb-1"))

        got = await jingle(bob, alice, "session-accept", offer)
        self.assertEqual(got.get("action"), "session-accept")
        got = await jingle(alice, bob, "session-terminate", "<reason><success/></reason>")
        self.assertIsNotNone(got.find(f"{{{JINGLE}}}reason/{{{JINGLE}}}success"))


if __name__ == "__main__":
    unittest.main()

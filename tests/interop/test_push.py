"""XEP-0357 push notifications (modules/push) against the real xmppd. The app server is
played by a slixmpp client whose JID is the push service: it records each <publish/> and
answers as an app server would.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_push
"""

import asyncio
import unittest
import xml.etree.ElementTree as ET

from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from test_slixmpp import ALICE, BOB, Client
from test_stream_management import StreamManagementTestCase

PUBSUB = "http://jabber.org/protocol/pubsub"
DATA = "jabber:x:data"
APP = ("push@localhost", "push-secret")


def modules_toml(extra=""):
    return ('modules = ["roster", "presence", "offline", "ping", "push"]\n\n'
            "[modules.push]\ninclude_body = true\n" + extra)


class AppServer(Client):
    """Records notifications; answers with `self.answer` ("result" or an error condition)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notifications = asyncio.Queue()
        self.answer = "result"
        self.register_handler(Callback(
            "push publish", MatchXPath("{jabber:client}iq/{%s}pubsub" % PUBSUB), self._on_publish))

    def _on_publish(self, iq):
        publish = iq.xml.find("{%s}pubsub/{%s}publish" % (PUBSUB, PUBSUB))
        fields = {f.get("var"): f.findtext("{%s}value" % DATA)
                  for f in iq.xml.iter("{%s}field" % DATA)}
        self.notifications.put_nowait((iq["from"].full, publish.get("node"), fields))
        if self.answer == "result":
            iq.reply().send()
        else:
            reply = iq.reply()
            reply["type"] = "error"
            reply["error"]["condition"] = self.answer
            reply["error"]["type"] = "cancel"
            reply.send()

    async def next_notification(self):
        return await asyncio.wait_for(self.notifications.get(), 15)


class Push(StreamManagementTestCase):

    async def enable_push(self, client, node):
        iq = client.Iq()
        iq["type"] = "set"
        iq.append(ET.fromstring(f"<enable xmlns='urn:xmpp:push:0' jid='{APP[0]}/app' node='{node}'/>"))
        reply = await iq.send(timeout=15)
        self.assertEqual(reply["type"], "result")

    async def test_one_notification_per_message_while_hibernated_or_offline(self):
        server = self.start_server_with_users(
            extra_toml=modules_toml("\n[c2s.stream_management]\nresume_timeout = 1\n"))
        server.add_user(*APP)
        app = AppServer(f"{APP[0]}/app", APP[1], "SCRAM-SHA-256", server.ca_file)
        app.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, app)
        self.assertTrue(await app.outcome())

        alice = await self.login(server, "alice@localhost/desk", ALICE[1])
        bob = await self.sm_login(server, "bob@localhost/phone", BOB[1])
        await self.enable_push(bob, "bob-node")

        # Active: the message is delivered, nobody is woken.
        alice.send_message(mto="bob@localhost", mbody="while active", mtype="chat")
        self.assertEqual((await bob.receive())["body"], "while active")

        since = server.log.mark()
        bob.kill_connection()
        await self.log_line(server, r"bob@localhost/phone hibernated", since)
        alice.send_message(mto="bob@localhost", mbody="one", mtype="chat")
        alice.send_message(mto="bob@localhost", mbody="two", mtype="chat")
        for count, body in ((1, "one"), (2, "two")):
            sender, node, fields = await app.next_notification()
            self.assertEqual((sender, node), ("bob@localhost", "bob-node"))
            self.assertEqual(fields["FORM_TYPE"], "urn:xmpp:push:summary")
            self.assertEqual(fields["message-count"], str(count))
            self.assertEqual(fields["last-message-sender"], "alice@localhost/desk")
            self.assertEqual(fields["last-message-body"], body)

        # Not resumed in time: offline now, and still notified.
        await self.log_line(server, r"bob@localhost/phone ended", since)
        alice.send_message(mto="bob@localhost", mbody="three", mtype="chat")
        _, _, fields = await app.next_notification()
        self.assertEqual((fields["message-count"], fields["last-message-body"]), ("3", "three"))

        # An app server that refuses is not asked again.
        app.answer = "item-not-found"
        alice.send_message(mto="bob@localhost", mbody="four", mtype="chat")
        _, _, fields = await app.next_notification()
        self.assertEqual(fields["last-message-body"], "four")
        await self.log_line(server, r"push: push@localhost/app refused .* registration disabled", since)
        alice.send_message(mto="bob@localhost", mbody="five", mtype="chat")
        await alice.barrier()
        app.answer = "result"
        bob2 = await self.login(server, "bob@localhost/laptop", BOB[1])
        await self.enable_push(bob2, "bob-node-2")
        received = []
        while not received or received[-1] != "five":
            received.append((await bob2.receive())["body"])
        # All kept offline; "while active" too when the phone had not acknowledged it
        # before its connection died (XEP-0198: unacknowledged means not delivered).
        self.assertEqual(received[-5:], ["one", "two", "three", "four", "five"])
        self.assertIn(received[:-5], ([], ["while active"]))
        await bob2.close()
        alice.send_message(mto="bob@localhost", mbody="six", mtype="chat")
        _, node, fields = await app.next_notification()
        # "five" woke no one: the next notification is for "six".
        self.assertEqual((node, fields["last-message-body"]), ("bob-node-2", "six"))


if __name__ == "__main__":
    unittest.main()

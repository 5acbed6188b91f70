"""XEP-0077 In-Band Registration: slixmpp (and a raw stream where slixmpp hides the
protocol) against the real xmppd with the register module.

    XMPPD_BUILD_DIR=... /usr/bin/python3 -m unittest -v test_register     (from tests/interop/)
"""

import asyncio
import re
import socket
import ssl
import unittest

import slixmpp

from harness import DOMAIN, TIMEOUT
from test_slixmpp import ALICE, Client, SlixmppTestCase


def config(allow=True, per_hour=5):
    # The first line lands in [hosts."localhost"].
    return (f'modules = ["disco", "register"]\n\n[modules.register]\n'
            f'allow_registration = {str(allow).lower()}\nmax_per_ip_per_hour = {per_hour}\n')


class RawStream:
    """A hand-driven client stream up to (not including) authentication, to see exactly
    which features the server offers and what it answers before login."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port("starttls")), timeout=TIMEOUT)
        self.buffer = ""
        self.features = self._open()
        self.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
        self.read_until(r"<proceed[^>]*/>")
        context = ssl.create_default_context(cafile=server.ca_file)
        self.sock = context.wrap_socket(self.sock, server_hostname=DOMAIN)
        self.features = self._open()

    def _open(self):
        self.buffer = ""
        self.send(f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' version='1.0' "
                  "xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
        return self.read_until(r"<stream:features>.*?</stream:features>")

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, pattern):
        regex = re.compile(pattern, re.S)
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match.group(0)
            data = self.sock.recv(65536)
            if not data:
                raise AssertionError(f"stream ended before /{pattern}/; got: {self.buffer}")
            self.buffer += data.decode()

    def iq(self, body, iq_id):
        self.send(f"<iq type='{body[0]}' id='{iq_id}'>{body[1]}</iq>")
        return self.read_until(rf"<iq[^>]*id='{iq_id}'[^>]*?(?:/>|>.*?</iq>)")

    def close(self):
        self.sock.close()


def register_query(username=None, password=None):
    fields = ""
    if username is not None:
        fields += f"<username>{username}</username>"
    if password is not None:
        fields += f"<password>{password}</password>"
    return ("set", f"<query xmlns='jabber:iq:register'>{fields}</query>")


class RegisterTestCase(SlixmppTestCase):

    def raw(self, server):
        stream = RawStream(server)
        self.addCleanup(stream.close)
        return stream

    async def register_and_login(self, server, jid, password):
        """slixmpp's own registration flow: register on the new stream, then log in."""
        client = Client(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.register_plugin("xep_0077")
        # slixmpp 1.8 queues every IQ until the session starts, registration included;
        # this (private) switch lets the registration IQs out before authentication.
        client._always_send_everything = True
        registered = asyncio.Event()

        async def on_register(_form):
            iq = client.make_iq_set()
            iq["register"]["username"] = client.boundjid.user
            iq["register"]["password"] = password
            await iq.send(timeout=TIMEOUT)
            registered.set()
        client.add_event_handler("register", on_register)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{jid}: no session after registering")
        self.assertTrue(registered.is_set(), "the register feature was not offered")
        # The server's log has this login before the caller marks it for the next one.
        await self.log_line(server, rf"authenticated as {re.escape(client.boundjid.bare)} ")
        return client

    async def can_login(self, server, jid, password):
        client = Client(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        ok = await client.outcome()
        if ok:
            await client.close()
        return ok


class Registration(RegisterTestCase):
    """Creating accounts before authentication."""

    async def test_register_then_log_in_with_both_scram_mechanisms(self):
        server = self.start_server(extra_toml=config())
        client = await self.register_and_login(server, "carol@localhost/new", "carol-secret")
        await client.close()
        for mechanism in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            again = await self.login(server, "carol@localhost/again", "carol-secret", mechanism=mechanism)
            await again.close()
        self.assertFalse(await self.can_login(server, "carol@localhost", "wrong"))

    async def test_form_and_refusals(self):
        server = self.start_server(extra_toml=config())
        server.add_user(*ALICE)
        stream = self.raw(server)
        self.assertIn("<register xmlns='http://jabber.org/features/iq-register'/>", stream.features)
        form = stream.iq(("get", "<query xmlns='jabber:iq:register'/>"), "form")
        for field in ("<instructions>", "<username/>", "<password/>"):
            self.assertIn(field, form)
        cases = [
            (register_query("alice", "x"), "conflict"),
            (register_query("dave"), "not-acceptable"),
            (register_query(None, "pw"), "not-acceptable"),
            (register_query("bad user@x", "pw"), "not-acceptable"),
            (register_query("dave", ""), "not-acceptable"),
        ]
        for n, (query, condition) in enumerate(cases):
            with self.subTest(query=query[1]):
                reply = stream.iq(query, f"r{n}")
                self.assertIn("type='error'", reply)
                self.assertIn(f"<{condition} ", reply)
        self.assertFalse(await self.can_login(server, "dave@localhost", "pw"))

    async def test_rate_limit_per_address(self):
        server = self.start_server(extra_toml=config(per_hour=2))
        stream = self.raw(server)
        for n, user in enumerate(("u1", "u2")):
            self.assertIn("type='result'", stream.iq(register_query(user, "pw"), f"ok{n}"))
        reply = stream.iq(register_query("u3", "pw"), "third")
        self.assertIn("<resource-constraint ", reply)
        # A new stream from the same address shares the allowance.
        self.assertIn("<resource-constraint ", self.raw(server).iq(register_query("u4", "pw"), "fourth"))
        self.assertTrue(await self.can_login(server, "u2@localhost", "pw"))
        self.assertFalse(await self.can_login(server, "u3@localhost", "pw"))


class RegistrationDisabled(RegisterTestCase):
    """The default: no feature, and requests refused."""

    async def test_not_offered_and_refused(self):
        for extra in ('modules = ["disco", "register"]\n', config(allow=False)):
            with self.subTest(config=extra):
                server = self.start_server(extra_toml=extra)
                stream = self.raw(server)
                self.assertNotIn("iq-register", stream.features)
                for n, query in enumerate((("get", "<query xmlns='jabber:iq:register'/>"),
                                           register_query("eve", "pw"))):
                    reply = stream.iq(query, f"q{n}")
                    self.assertIn("<service-unavailable ", reply)
                self.assertFalse(await self.can_login(server, "eve@localhost", "pw"))


class AccountManagement(RegisterTestCase):
    """After authentication: a new password, and removing one's account."""

    async def test_change_password(self):
        server = self.start_server(extra_toml=config(allow=False))
        server.add_user(*ALICE)
        alice = await self.login(server, "alice@localhost/one", ALICE[1])
        alice.register_plugin("xep_0077")
        await alice["xep_0077"].change_password("new-secret", timeout=TIMEOUT)
        self.assertTrue(await self.can_login(server, "alice@localhost", "new-secret"))
        self.assertFalse(await self.can_login(server, "alice@localhost", ALICE[1]))
        # Someone else's name is refused.
        iq = alice.make_iq_set()
        iq["register"]["username"] = "bob"
        iq["register"]["password"] = "hijack"
        with self.assertRaises(slixmpp.exceptions.IqError) as caught:
            await iq.send(timeout=TIMEOUT)
        self.assertEqual(caught.exception.iq["error"]["condition"], "bad-request")

    async def test_remove_account_ends_sessions(self):
        server = self.start_server(extra_toml=config(allow=False))
        server.add_user(*ALICE)
        alice = await self.login(server, "alice@localhost/one", ALICE[1])
        other = await self.login(server, "alice@localhost/two", ALICE[1])
        alice.register_plugin("xep_0077")
        await alice["xep_0077"].cancel_registration(timeout=TIMEOUT)
        await asyncio.wait_for(other.ended.wait(), TIMEOUT)
        self.assertFalse(await self.can_login(server, "alice@localhost", ALICE[1]))

    async def test_a_deleted_name_is_held_for_a_while(self):
        for hold, answer in (('"30d"', "<conflict "), ('"never"', "type='result'")):
            with self.subTest(hold=hold):
                server = self.start_server(extra_toml=config() + f"hold_deleted_names = {hold}\n")
                server.add_user(*ALICE)
                alice = await self.login(server, "alice@localhost/one", ALICE[1])
                alice.register_plugin("xep_0077")
                await alice["xep_0077"].cancel_registration(timeout=TIMEOUT)
                reply = self.raw(server).iq(register_query("alice", "a-newcomer"), "again")
                self.assertIn(answer, reply)
                self.assertEqual(await self.can_login(server, "alice@localhost", "a-newcomer"), answer != "<conflict ")
        # An admin may give the name out again (xmppctl adduser lifts the hold).
        server.stop()
        server = self.start_server(extra_toml=config())
        server.add_user(*ALICE)
        alice = await self.login(server, "alice@localhost/one", ALICE[1])
        alice.register_plugin("xep_0077")
        await alice["xep_0077"].cancel_registration(timeout=TIMEOUT)
        server.add_user("alice@localhost", "given-by-the-admin")
        self.assertTrue(await self.can_login(server, "alice@localhost", "given-by-the-admin"))


if __name__ == "__main__":
    unittest.main()

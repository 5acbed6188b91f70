"""slixmpp (Debian's python3-slixmpp) against the real xmppd.

Run with Debian's interpreter, which has slixmpp:
    /usr/bin/python3 -m unittest -v test_slixmpp      (from tests/interop/)

Every test starts its own server. Nothing sleeps to synchronize: the tests await slixmpp
events, asyncio queues and server log lines, each bounded by harness.TIMEOUT.
"""

import asyncio
import logging
import os
import ssl
import unittest

import slixmpp

import harness
from harness import ALL_MECHANISMS, DOMAIN, TIMEOUT

MODES = ("starttls", "directtls")
ALICE = ("alice@localhost", "alice-secret")
BOB = ("bob@localhost", "bob-secret")

if os.environ.get("INTEROP_DEBUG"):
    logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(message)s")
else:
    # slixmpp logs expected failures ("No appropriate login method.") as errors; the
    # assertions say what went wrong.
    logging.getLogger("slixmpp").setLevel(logging.CRITICAL)


class Client(slixmpp.ClientXMPP):
    """A slixmpp client that turns what happens to it into awaitable state."""

    def __init__(self, jid, password, mechanism, ca_file):
        # sasl_mech limits SASL to that one mechanism: no silent fallback to another.
        super().__init__(jid, password, sasl_mech=mechanism)
        self.ca_certs = ca_file       # verify the server's generated self-signed certificate
        self.use_ipv6 = False         # "localhost" must resolve to 127.0.0.1, where xmppd listens
        self.use_aiodns = False
        self.whitespace_keepalive = False
        self.session_started = asyncio.Event()
        self.ended = asyncio.Event()  # the connection is gone, or could not be made
        self.auth_failures = []       # SASL <failure/> conditions
        self.connection_errors = []
        self.end_reason = None        # why the connection ended, as slixmpp says
        self.inbox = asyncio.Queue()
        self.add_event_handler("session_start", self._on_session_start)
        self.add_event_handler("failed_auth", lambda f: self.auth_failures.append(f["condition"]))
        self.add_event_handler("connection_failed", self._on_connection_failed)
        self.add_event_handler("disconnected", self._on_disconnected)
        self.add_event_handler("message", self.inbox.put_nowait)

    def _on_session_start(self, _):
        # Messages to a bare JID reach only resources that sent available presence.
        # No roster request: there is no roster module yet, and nothing here needs one.
        self.send_presence()
        self.session_started.set()

    def _on_connection_failed(self, error):
        self.connection_errors.append(error)
        self.cancel_connection_attempt()  # fail the test instead of retrying with back-off
        self.ended.set()

    def _on_disconnected(self, reason):
        self.end_reason = reason
        self.ended.set()

    def open(self, server, mode):
        # "localhost" (not 127.0.0.1) so the certificate's name is checked; use_ssl is
        # XEP-0368 direct TLS, otherwise slixmpp negotiates STARTTLS.
        port = server.port(mode)
        # slixmpp 1.8 still resolves the host and then takes the port of the answer, which
        # is default_port (5222) rather than the one given to connect().
        self.default_port = port
        self.connect(("localhost", port), use_ssl=(mode == "directtls"))

    async def outcome(self):
        """Waits until the session starts or the connection ends; True if it started."""
        started = asyncio.ensure_future(self.session_started.wait())
        ended = asyncio.ensure_future(self.ended.wait())
        done, pending = await asyncio.wait({started, ended}, timeout=TIMEOUT,
                                           return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        if not done:
            raise AssertionError(f"{self.requested_jid}: neither session nor disconnect "
                                 f"within {TIMEOUT}s")
        return self.session_started.is_set()

    async def barrier(self):
        """One IQ round trip (the legacy <session/>, which xmppd answers itself).

        The server handles a stream's stanzas in order, so once this is answered the
        initial presence sent before it has been processed too.
        """
        iq = self.Iq()
        iq["type"] = "set"
        iq.enable("session")
        reply = await iq.send(timeout=TIMEOUT)
        assert reply["type"] == "result", reply

    async def receive(self):
        try:
            return await asyncio.wait_for(self.inbox.get(), TIMEOUT)
        except asyncio.TimeoutError:
            raise AssertionError(f"{self.boundjid}: no message within {TIMEOUT}s") from None

    async def close(self):
        """Closes our stream; xmppd must answer by closing its own."""
        await asyncio.wait_for(self.disconnect(wait=TIMEOUT), TIMEOUT + 5)
        # slixmpp says "End of stream" only when it read the server's </stream:stream>;
        # otherwise it cut the connection itself after the wait.
        assert self.end_reason == "End of stream", \
            f"{self.boundjid}: xmppd did not close its stream after ours ({self.end_reason!r})"


class SlixmppTestCase(harness.ServerTestCase, unittest.IsolatedAsyncioTestCase):

    async def asyncSetUp(self):
        # The test runs its loop in debug mode, which reports every callback over 0.1 s;
        # starting xmppd and running xmppctl block the loop on purpose (nothing else runs).
        asyncio.get_running_loop().slow_callback_duration = 5.0

    def start_server_with_users(self, **kwargs):
        server = self.start_server(**kwargs)
        server.add_user(*ALICE)
        server.add_user(*BOB)
        return server

    async def login(self, server, jid, password, mode="starttls", mechanism="SCRAM-SHA-256"):
        client = Client(jid, password, mechanism, server.ca_file)
        since = server.log.mark()
        client.open(server, mode)
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(),
                        f"{jid}: no session (SASL failures {client.auth_failures}, "
                        f"connection errors {client.connection_errors})")
        # The mechanism really used, as both ends saw it.
        self.assertEqual(client["feature_mechanisms"].mech.name, mechanism)
        bare = slixmpp.JID(jid).bare
        used = await self.log_line(server, rf"authenticated as {bare} \(([A-Z0-9-]+)\)", since)
        self.assertEqual(used.group(1), mechanism)
        # The transport really is what the mode says, and modern TLS.
        self.assertIn(client.socket.version(), ("TLSv1.2", "TLSv1.3"))
        self.assertEqual("starttls" in client.features, mode == "starttls")
        await client.barrier()
        return client

    async def _close_quietly(self, client):
        # After a failure mid-test: drop the connection, or stop connecting.
        client.cancel_connection_attempt()
        if client.transport is not None:
            client.abort()

    async def log_line(self, server, pattern, since=0):
        """Waits for a server log line off the event loop, so clients keep running."""
        return await asyncio.to_thread(server.log.wait_for, pattern, since=since)

    async def assert_chat(self, sender, recipient, to, body):
        """`sender` sends a chat message to `to`; `recipient` must get it, stamped with the
        sender's full JID."""
        sender.send_message(mto=to, mbody=body, mtype="chat")
        message = await recipient.receive()
        self.assertEqual(message["type"], "chat", message)
        self.assertEqual(message["body"], body, message)
        self.assertEqual(message["from"].full, sender.boundjid.full, message)
        self.assertEqual(message["to"].bare, recipient.boundjid.bare, message)


class LoginAndChat(SlixmppTestCase):
    """Each SASL mechanism over each kind of TLS, then a conversation."""

    async def check_login_and_chat(self, mechanism, mode):
        server = self.start_server_with_users()
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1], mode, mechanism)
        bob = await self.login(server, "bob@localhost/laptop", BOB[1], mode, mechanism)
        self.assertEqual(alice.boundjid.full, "alice@localhost/wonderland")
        self.assertEqual(bob.boundjid.full, "bob@localhost/laptop")

        await self.assert_chat(alice, bob, "bob@localhost", "Hello Bob (bare JID) ✓")
        await self.assert_chat(alice, bob, bob.boundjid.full, "Hello Bob (full JID) & <escaped>")
        await self.assert_chat(bob, alice, alice.boundjid.full, "Hi Alice")
        self.assertTrue(bob.inbox.empty() and alice.inbox.empty(), "unexpected extra messages")

        await alice.close()
        await bob.close()
        await self.log_line(server, r"alice@localhost/wonderland disconnected")
        await self.log_line(server, r"bob@localhost/laptop disconnected")


def _add_login_tests():
    for mechanism in ALL_MECHANISMS:
        for mode in MODES:
            async def test(self, mechanism=mechanism, mode=mode):
                await self.check_login_and_chat(mechanism, mode)
            name = f"test_{mechanism.replace('-', '_').lower()}_{mode}"
            test.__name__ = name
            setattr(LoginAndChat, name, test)


_add_login_tests()


class AuthFailures(SlixmppTestCase):
    """Bad credentials end in a SASL failure, never in a session."""

    async def check_refused(self, jid, password, mechanism, mode):
        server = self.start_server_with_users()
        client = Client(jid, password, mechanism, server.ca_file)
        since = server.log.mark()
        client.open(server, mode)
        self.addAsyncCleanup(self._close_quietly, client)
        # slixmpp gives up once the one allowed mechanism fails, and disconnects: "no
        # session" is then final rather than "not yet".
        self.assertFalse(await client.outcome(), f"{jid} logged in with bad credentials")
        self.assertEqual(client.connection_errors, [])
        self.assertEqual(client.auth_failures, ["not-authorized"])
        self.assertEqual(client["feature_mechanisms"].mech.name, mechanism)
        await self.log_line(server, r"authentication failed \(not-authorized\)", since)
        self.assertEqual(server.log.matching(r"authenticated as", since=since), [])


def _add_failure_tests():
    for mechanism in ALL_MECHANISMS:
        for mode in MODES:
            suffix = f"{mechanism.replace('-', '_').lower()}_{mode}"

            async def wrong_password(self, mechanism=mechanism, mode=mode):
                await self.check_refused("alice@localhost/x", "not-alices-password", mechanism, mode)
            wrong_password.__name__ = f"test_wrong_password_{suffix}"
            setattr(AuthFailures, wrong_password.__name__, wrong_password)

            async def unknown_user(self, mechanism=mechanism, mode=mode):
                await self.check_refused("mallory@localhost/x", "whatever", mechanism, mode)
            unknown_user.__name__ = f"test_unknown_user_{suffix}"
            setattr(AuthFailures, unknown_user.__name__, unknown_user)


_add_failure_tests()


class MalformedClient(SlixmppTestCase):
    """A client sending broken XML is cut off; the others keep chatting."""

    async def raw_client(self, server, mode, garbage):
        """Opens a stream, waits for the features, sends `garbage`, returns all it gets
        until the server closes the connection."""
        tls = None
        if mode == "directtls":
            tls = ssl.create_default_context(cafile=server.ca_file)
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port(mode), ssl=tls, server_hostname=DOMAIN if tls else None)
        try:
            writer.write(b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                         b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
            received = await asyncio.wait_for(reader.readuntil(b"</stream:features>"), TIMEOUT)
            writer.write(garbage)
            # read() returns at EOF only: this proves the server closed the connection.
            received += await asyncio.wait_for(reader.read(), TIMEOUT)
            return received.decode()
        finally:
            writer.close()

    async def check_malformed(self, mode, garbage):
        server = self.start_server_with_users()
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1], mode)
        bob = await self.login(server, "bob@localhost/laptop", BOB[1], mode)
        await self.assert_chat(alice, bob, "bob@localhost", "before")

        since = server.log.mark()
        received = await self.raw_client(server, mode, garbage)
        self.assertIn("<stream:error><not-well-formed", received)
        self.assertTrue(received.endswith("</stream:stream>"), received)
        await self.log_line(server, r"stream error not-well-formed", since)

        # The bad client changed nothing for the others, nor for new logins.
        await self.assert_chat(alice, bob, "bob@localhost", "after, bare")
        await self.assert_chat(bob, alice, alice.boundjid.full, "after, full")
        alice2 = await self.login(server, "alice@localhost/second", ALICE[1], mode)
        await self.assert_chat(alice2, bob, bob.boundjid.full, "from a new session")
        for client in (alice, bob, alice2):
            await client.close()

    async def test_mismatched_tag_starttls(self):
        await self.check_malformed("starttls", b"<message><body>hi</message>")

    async def test_mismatched_tag_directtls(self):
        await self.check_malformed("directtls", b"<message><body>hi</message>")

    async def test_garbage_starttls(self):
        await self.check_malformed("starttls", b"<<<>>> not xml &&&")


@unittest.skipIf(os.environ.get("XMPPD_SANITIZED") == "1",
                 "the sanitizers' runtime needs descriptors of its own (UBSan probes memory "
                 "through a pipe), so a server out of them reports false errors")
class OpenFileLimit(SlixmppTestCase):
    """Past its open-file limit the server refuses a new client with a stream error, and
    the sessions it holds carry on."""

    LIMIT = 48  # a few dozen connections past the descriptors the server opens itself

    async def test_client_past_the_limit_is_told_resource_constraint(self):
        server = self.start_server_with_users(open_file_limit=self.LIMIT)
        await self.log_line(server, rf"open-file limit {self.LIMIT} ")
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1], "starttls")
        bob = await self.login(server, "bob@localhost/laptop", BOB[1], "starttls")

        # Streams opened over bare TCP hold the server's remaining descriptors.
        held = []
        try:
            for _ in range(self.LIMIT):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.starttls_port)
                writer.write(b"<?xml version='1.0'?><stream:stream to='localhost' version='1.0' "
                             b"xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>")
                try:
                    await asyncio.wait_for(reader.readuntil(b"</stream:features>"), TIMEOUT)
                except asyncio.IncompleteReadError as refused:  # closed: the limit is reached
                    self.assertIn(b"<resource-constraint", refused.partial)
                    writer.close()
                    break
                held.append(writer)
            else:
                self.fail(f"{self.LIMIT} connections and none refused")

            carol = Client("alice@localhost/third", ALICE[1], "SCRAM-SHA-256", server.ca_file)
            conditions = []
            carol.add_event_handler("stream_error", lambda e: conditions.append(e["condition"]))
            carol.open(server, "starttls")
            self.addAsyncCleanup(self._close_quietly, carol)
            self.assertFalse(await carol.outcome(), "a session past the open-file limit")
            self.assertEqual(conditions, ["resource-constraint"])
            await self.log_line(server, r"refusing connections: out of file descriptors")

            await self.assert_chat(alice, bob, "bob@localhost", "still here")
            await self.assert_chat(bob, alice, alice.boundjid.full, "and here")
        finally:
            for writer in held:
                writer.close()
        for client in (alice, bob):
            await client.close()


class Shutdown(SlixmppTestCase):

    async def test_sigterm_sends_system_shutdown(self):
        server = self.start_server_with_users()
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1], "directtls")
        bob = await self.login(server, "bob@localhost/laptop", BOB[1], "starttls")
        conditions = []
        for client in (alice, bob):
            client.add_event_handler("stream_error", lambda e: conditions.append(e["condition"]))
        # Off the loop: the clients must keep reading while xmppd shuts down. stop()
        # asserts the exit code is 0.
        await asyncio.to_thread(server.stop)
        await asyncio.wait_for(asyncio.gather(alice.ended.wait(), bob.ended.wait()), TIMEOUT)
        self.assertEqual(conditions, ["system-shutdown", "system-shutdown"])


if __name__ == "__main__":
    unittest.main()

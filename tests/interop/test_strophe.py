"""libstrophe (Debian's libstrophe 0.12) against the real xmppd, through strophe_client.

    /usr/bin/python3 -m unittest -v test_strophe      (from tests/interop/)

libstrophe picks the strongest mechanism the server offers and cannot be told otherwise,
so each mechanism is tested by offering only that one on the server.
"""

import os
import re
import subprocess
import unittest

import harness
from harness import ALL_MECHANISMS, TIMEOUT

MODES = ("starttls", "directtls")
ALICE = ("alice@localhost", "alice-secret")
BOB = ("bob@localhost", "bob-secret")


class Strophe:
    """One strophe_client process; its stdout lines are collected as they come."""

    def __init__(self, server, jid, password, mode, *options, cafile=None):
        args = [harness.strophe_client_binary(), jid, password, "127.0.0.1",
                str(server.port(mode)), mode, "--cafile", cafile or server.ca_file,
                "--timeout", str(int(TIMEOUT)), *options]
        self.name = jid
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT)
        self.output = harness.LineCollector(self.process.stdout, f"strophe {jid}")

    def wait_for(self, pattern):
        return self.output.wait_for(pattern)

    def finish(self):
        """Waits for the process to exit; returns its exit code."""
        try:
            code = self.process.wait(TIMEOUT + 5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"{self.name}: strophe_client did not exit:\n{self.text()}")
        self.output.join()
        return code

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def text(self):
        return "\n".join(self.output.lines())

    def received(self):
        """(from, body) of every message received, in order."""
        return [tuple(line.split(" ", 2)[1:]) for line in self.output.matching(r"^RECEIVED ")]


class StropheTestCase(harness.ServerTestCase):

    def start_server_with_users(self, **kwargs):
        server = self.start_server(**kwargs)
        server.add_user(*ALICE)
        server.add_user(*BOB)
        return server

    def client(self, server, jid, password, mode, *options, **kwargs):
        client = Strophe(server, jid, password, mode, *options, **kwargs)
        self.addCleanup(client.kill)
        return client

    def assert_exit(self, client, expected):
        code = client.finish()
        self.assertEqual(code, expected, f"{client.name}: strophe_client output:\n{client.text()}")


class Chat(StropheTestCase):
    """Two libstrophe clients talk through xmppd: alice writes to bob's bare and full JID,
    bob echoes each message back to alice's full JID."""

    def check_chat(self, mode, offered, expected_mechanism):
        server = self.start_server_with_users(mechanisms=offered)
        bob = self.client(server, "bob@localhost/strophe-bob", BOB[1], mode, "--expect", "2", "--echo")
        bob_jid = bob.wait_for(r"^BOUND (\S+)$").group(1)
        self.assertEqual(bob_jid, "bob@localhost/strophe-bob")
        bob.wait_for(r"^READY$")  # bob's presence is in: his bare JID is deliverable

        alice = self.client(server, "alice@localhost/strophe-alice", ALICE[1], mode,
                            "--send", "bob@localhost", "hello-bare",
                            "--send", bob_jid, "hello-full", "--expect", "2")
        self.assert_exit(alice, 0)
        self.assert_exit(bob, 0)

        alice_jid = "alice@localhost/strophe-alice"
        self.assertIn("SECURED", alice.output.lines())
        self.assertIn("SECURED", bob.output.lines())
        self.assertIn(f"BOUND {alice_jid}", alice.output.lines())
        self.assertEqual(bob.received(), [(alice_jid, "hello-bare"), (alice_jid, "hello-full")])
        self.assertEqual(alice.received(), [(bob_jid, "echo: hello-bare"), (bob_jid, "echo: hello-full")])

        self.assertEqual(server.auth_mechanism_of("alice@localhost"), expected_mechanism)
        self.assertEqual(server.auth_mechanism_of("bob@localhost"), expected_mechanism)
        server.log.wait_for(rf"{re.escape(alice_jid)} disconnected")
        server.log.wait_for(rf"{re.escape(bob_jid)} disconnected")

    def test_default_choice_is_scram_sha_256_starttls(self):
        self.check_chat("starttls", ALL_MECHANISMS, "SCRAM-SHA-256")

    def test_default_choice_is_scram_sha_256_directtls(self):
        self.check_chat("directtls", ALL_MECHANISMS, "SCRAM-SHA-256")


def _add_chat_tests():
    for mechanism in ALL_MECHANISMS:
        for mode in MODES:
            def test(self, mechanism=mechanism, mode=mode):
                self.check_chat(mode, [mechanism], mechanism)
            test.__name__ = f"test_only_{mechanism.replace('-', '_').lower()}_{mode}"
            setattr(Chat, test.__name__, test)


_add_chat_tests()


class Refused(StropheTestCase):
    """Logins that must fail do, and libstrophe reports it with a non-zero exit."""

    def check_refused(self, mode, jid, password):
        server = self.start_server_with_users()
        client = self.client(server, jid, password, mode)
        self.assert_exit(client, 2)
        self.assertNotIn("CONNECTED", client.output.lines())
        server.log.wait_for(r"authentication failed \(not-authorized\)")
        self.assertEqual(server.log.matching(r"authenticated as"), [])

    def test_wrong_password_starttls(self):
        self.check_refused("starttls", "alice@localhost/x", "not-alices-password")

    def test_wrong_password_directtls(self):
        self.check_refused("directtls", "alice@localhost/x", "not-alices-password")

    def test_unknown_user_starttls(self):
        self.check_refused("starttls", "mallory@localhost/x", "whatever")

    def test_unknown_user_directtls(self):
        self.check_refused("directtls", "mallory@localhost/x", "whatever")

    def test_untrusted_certificate_is_refused(self):
        # Proves --cafile really verifies: trusting another self-signed "localhost"
        # certificate (right name, wrong key) must not let xmppd's certificate through.
        server = self.start_server_with_users()
        other = os.path.join(server.dir, "other.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost",
                        "-keyout", os.path.join(server.dir, "other.key"), "-out", other],
                       check=True, capture_output=True, timeout=TIMEOUT)
        client = self.client(server, "alice@localhost/x", ALICE[1], "directtls", cafile=other)
        self.assert_exit(client, 2)
        self.assertTrue(client.output.matching(r"^CERTFAIL"), client.text())
        self.assertEqual(server.log.matching(r"authenticated as"), [])


if __name__ == "__main__":
    unittest.main()

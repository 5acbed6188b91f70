"""SIGHUP reloads the config without dropping anyone: new certificates for new connections,
new module settings, and a broken file changes nothing. slixmpp clients stay connected.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_reload
"""

import asyncio
import hashlib
import os
import re
import signal
import socket
import ssl
import subprocess

import harness

from test_slixmpp import ALICE, BOB, SlixmppTestCase

OFFLINE = 'modules = ["offline"]\n\n[modules.offline]\nmax_messages = {}\n'


def certificate_fingerprint(port):
    """SHA-256 of the certificate a new direct-TLS connection is shown."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=harness.TIMEOUT) as raw:
        with context.wrap_socket(raw, server_hostname=harness.DOMAIN) as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def new_certificate(cert, key):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", key, "-out", cert, "-days", "30", "-subj", f"/CN={harness.DOMAIN}",
                    "-addext", f"subjectAltName=DNS:{harness.DOMAIN}"],
                   check=True, capture_output=True, timeout=harness.TIMEOUT)
    os.chmod(key, 0o600)


class Reload(SlixmppTestCase):

    def rewrite_config(self, server, old, new):
        with open(server.config_path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(server.config_path, "w") as f:
            f.write(text.replace(old, new))

    async def hup(self, server, pattern):
        since = server.log.mark()
        server.process.send_signal(signal.SIGHUP)
        return await self.log_line(server, pattern, since)

    async def test_new_certificate_for_new_connections_sessions_kept(self):
        server = self.start_server_with_users()
        alice = await self.login(server, "alice@localhost/stays", ALICE[1], mode="directtls")
        bob = await self.login(server, "bob@localhost/stays", BOB[1])
        port = server.port("directtls")
        before = certificate_fingerprint(port)

        certs = os.path.join(server.data_dir, "certs")
        new_certificate(os.path.join(certs, f"{harness.DOMAIN}.crt"), os.path.join(certs, f"{harness.DOMAIN}.key"))
        await self.hup(server, r"reload: certificates loaded")
        await self.log_line(server, r"reload done")

        after = certificate_fingerprint(port)
        self.assertNotEqual(before, after)
        # The sessions that were there before the reload still talk.
        await self.assert_chat(alice, bob, "bob@localhost/stays", "still connected")
        await self.assert_chat(bob, alice, "alice@localhost/stays", "me too")

    async def test_module_settings_change_while_running(self):
        server = self.start_server_with_users(extra_toml=OFFLINE.format(1))
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        alice.send_message(mto="bob@localhost", mbody="one", mtype="chat")
        await self.log_line(server, r"offline: stored message")
        alice.send_message(mto="bob@localhost", mbody="two", mtype="chat")
        error = await alice.receive()
        self.assertEqual(error["error"]["condition"], "resource-constraint", error)

        self.rewrite_config(server, "max_messages = 1", "max_messages = 3")
        await self.hup(server, r"reload: module offline on localhost uses its new settings")
        since = server.log.mark()
        alice.send_message(mto="bob@localhost", mbody="three", mtype="chat")
        await self.log_line(server, r"offline: stored message", since)

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        bodies = [(await bob.receive())["body"] for _ in range(2)]
        self.assertEqual(bodies, ["one", "three"])

    async def test_broken_file_changes_nothing(self):
        server = self.start_server_with_users(extra_toml=OFFLINE.format(1))
        alice = await self.login(server, "alice@localhost/wonderland", ALICE[1])
        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        self.rewrite_config(server, "max_messages = 1", "max_messages = = 3")
        since = server.log.mark()
        await self.hup(server, r"reload: configuration error; keeping the running configuration")
        await self.log_line(server, re.escape(server.config_path) + r":\d+", since)
        await self.assert_chat(alice, bob, "bob@localhost/laptop", "nothing changed")
        # The old limit (1) still holds.
        await bob.close()
        alice.send_message(mto="bob@localhost", mbody="one", mtype="chat")
        await self.log_line(server, r"offline: stored message", since)
        alice.send_message(mto="bob@localhost", mbody="two", mtype="chat")
        error = await alice.receive()
        self.assertEqual(error["error"]["condition"], "resource-constraint", error)


if __name__ == "__main__":
    import unittest
    unittest.main()

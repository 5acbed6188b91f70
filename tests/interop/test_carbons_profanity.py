"""Profanity (Debian's terminal client, in tmux) against the real xmppd: it logs in
without the "Server error enabling message carbons" it printed before carbons existed,
and shows a message that the account's other resource (slixmpp) sent.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_carbons_profanity
"""

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from test_carbons import MODULES, CarbonsClient
from test_slixmpp import ALICE, BOB, SlixmppTestCase


class Profanity:
    """One profanity process in a tmux session of its own, with a private home."""

    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="xmppd-profanity-")
        self.session = f"xmppd-test-{os.getpid()}-{id(self)}"
        env = f"HOME={self.home} XDG_CONFIG_HOME={self.home}/config XDG_DATA_HOME={self.home}/data"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.session, "-x", "200", "-y", "50",
                        f"env {env} profanity"], check=True)

    def type(self, text):
        subprocess.run(["tmux", "send-keys", "-t", self.session, text, "Enter"], check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-t", self.session, "-p"],
                              capture_output=True, text=True, check=True).stdout

    def wait_for(self, pattern, timeout=harness.TIMEOUT):
        """Waits until the screen shows `pattern` (polling the pane: tmux has no events)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.screen()):
                return
            time.sleep(0.1)
        raise AssertionError(f"profanity never showed /{pattern}/; screen:\n{self.screen()}")

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.session], capture_output=True)
        shutil.rmtree(self.home, ignore_errors=True)


class ProfanityCarbons(SlixmppTestCase):

    async def test_profanity_logs_in_cleanly_and_shows_what_another_resource_sent(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        profanity = Profanity()
        self.addCleanup(profanity.close)
        since = server.log.mark()
        profanity.type(f"/connect {ALICE[0]} server 127.0.0.1 port {server.starttls_port} tls force")
        await asyncio.to_thread(profanity.wait_for, r"[Pp]assword")
        profanity.type(ALICE[1])
        await asyncio.to_thread(profanity.wait_for, r"/tls allow")  # our self-signed certificate
        profanity.type("/tls allow")
        await asyncio.to_thread(profanity.wait_for, r"logged in successfully")
        await self.log_line(server, r"carbons: alice@localhost/\S+ enabled", since)
        self.assertNotIn("carbons", profanity.screen().lower().replace("enabled", ""),
                         "profanity reported a carbons problem")

        desk = CarbonsClient("alice@localhost/desk", ALICE[1], "SCRAM-SHA-256", server.ca_file)
        desk.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, desk)
        self.assertTrue(await desk.outcome())
        bob = await self.login(server, "bob@localhost/home", BOB[1])
        desk.send_message(mto="bob@localhost/home", mbody="sent from the desk", mtype="chat")
        self.assertEqual((await bob.receive())["body"], "sent from the desk")
        await asyncio.to_thread(profanity.wait_for, r"chat message|win 2|\[2\]")
        profanity.type("/win 2")
        await asyncio.to_thread(profanity.wait_for, r"me: sent from the desk")


if __name__ == "__main__":
    unittest.main()

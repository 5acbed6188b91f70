"""Web clients no one here wrote, against the real xmppd over WebSocket: xmpp.js
(@xmpp/client) in Node, and Converse.js, served by xmppd itself, in headless Chromium.

Run from tests/interop/ with Debian's interpreter (after a build, which installs the npm
packages into build/web):
    /usr/bin/python3 -m unittest -v test_web_clients
"""

import asyncio
import json
import os
import shutil
import subprocess
import struct
import zlib

import harness
from test_slixmpp import ALICE, BOB, SlixmppTestCase

WEB_DIR = os.environ.get("XMPPD_WEB_DIR") or os.path.join(harness._BUILD_DIR, "web")
# Screenshots of the browser scenario are kept here, one per person and step.
ARTIFACTS = os.environ.get("XMPPD_ARTIFACTS_DIR") or os.path.join(harness._BUILD_DIR, "test-artifacts")
HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = 'modules = ["roster", "presence", "offline", "disco", "ping"]\n'


class NodeClient:
    """A Node script speaking JSON lines: reports on stdout, commands on stdin."""

    def __init__(self, script, *args):
        if not os.path.isdir(os.path.join(WEB_DIR, "node_modules")):
            raise RuntimeError(f"no npm packages in {WEB_DIR} (the build installs them)")
        self.process = subprocess.Popen(
            ["node", "--experimental-websocket", os.path.join(HERE, "web", script), *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, "XMPPD_WEB_DIR": WEB_DIR})
        self.log = harness.LineCollector(self.process.stdout, script)

    def command(self, **command):
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        self.process.stdin.flush()

    async def event(self, name, since=0, timeout=harness.TIMEOUT, **fields):
        """The first report of `name` (a pattern; at or after line `since`) whose fields match."""
        pattern = r'^\{"event": ?"' + name + '"'
        while True:
            match = await asyncio.to_thread(self.log.wait_for, pattern, timeout=timeout, since=since)
            line_index = self.log.lines().index(match.string, since)
            report = json.loads(match.string)
            if all(report.get(k) == v for k, v in fields.items()):
                return report
            since = line_index + 1

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.log.join()


class XmppJs(SlixmppTestCase):

    async def test_logs_in_with_scram_chats_with_a_tcp_client_and_resumes(self):
        server = self.start_server_with_users(http_toml="", extra_toml=MODULES)
        bob = await self.login(server, BOB[0] + "/desk", BOB[1])
        since = server.log.mark()
        js = NodeClient("xmpp_js_client.mjs", f"ws://127.0.0.1:{server.http_port}/xmpp-websocket",
                        "alice", ALICE[1], "xmppjs")
        self.addCleanup(js.stop)
        online = await js.event("online")
        self.assertEqual(online["jid"], "alice@localhost/xmppjs")
        used = await self.log_line(server, r"authenticated as alice@localhost \(([A-Z0-9-]+)\)", since)
        self.assertEqual(used.group(1), "SCRAM-SHA-1")  # xmpp.js's best

        js.command(send={"to": bob.boundjid.full, "body": "hello from xmpp.js"})
        message = await bob.receive()
        self.assertEqual((message["from"].full, message["body"]), ("alice@localhost/xmppjs", "hello from xmpp.js"))
        bob.send_message(mto="alice@localhost/xmppjs", mbody="hello from slixmpp", mtype="chat")
        got = await js.event("message")
        self.assertEqual((got["from"], got["body"]), (bob.boundjid.full, "hello from slixmpp"))

        # Stream management over WebSocket: the connection goes, the session waits, xmpp.js
        # comes back and resumes it, and what was sent meanwhile arrives.
        mark = js.log.mark()
        since = server.log.mark()
        js.command(drop=True)
        await self.log_line(server, r"alice@localhost/xmppjs hibernated", since)
        bob.send_message(mto="alice@localhost/xmppjs", mbody="while you were away", mtype="chat")
        await bob.barrier()
        await js.event("resumed", mark)
        await self.log_line(server, r"resumed alice@localhost/xmppjs", since)
        await js.event("message", mark, body="while you were away")
        js.command(stop=True)
        await js.event("stopped", mark)
        await self.log_line(server, r"alice@localhost/xmppjs disconnected", since)


def png(path, width=40, height=30):
    """A small real PNG (a colour gradient), to upload as a picture."""
    rows = b"".join(b"\0" + b"".join(bytes([(x * 7) % 256, (y * 5) % 256, 128]) for x in range(width))
                    for y in range(height))

    def chunk(kind, data):
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class ConverseInChromium(SlixmppTestCase):
    """The web chat xmppd serves, used by two people through its UI in headless Chromium."""

    STEPS = ["bob-logs-in", "alice-registers", "alice-adds-bob", "one-to-one-chat", "group-chat",
             "file-upload", "retraction", "history-on-a-new-device"]

    async def test_register_chat_join_a_room_send_a_file_retract_and_read_the_history(self):
        room = "lobby@conference.localhost"
        server = self.start_server(
            http_toml=f'web_client = true\nweb_client_room = "{room}"',
            extra_toml='modules = ["roster", "presence", "disco", "offline", "vcard", "private", "register", '
                       '"ping", "muc", "http_upload", "carbons", "mam", "pep"]\n\n'
                       "[modules.register]\nallow_registration = true\n")
        server.add_user("bob@localhost", "bob-web-secret")
        shots = os.path.join(ARTIFACTS, "web-chat")
        shutil.rmtree(shots, ignore_errors=True)
        os.makedirs(shots)
        picture = os.path.join(server.dir, "picture.png")
        png(picture)

        browser = NodeClient("converse_scenario.mjs", f"http://localhost:{server.http_port}/", shots,
                             "bob-web-secret", room, picture)
        self.addCleanup(browser.stop)
        outcome = await browser.event("(done|failed)", timeout=180)
        self.assertEqual(outcome["event"], "done", "\n".join(browser.log.lines()))
        steps = [json.loads(line)["step"] for line in browser.log.matching(r'"event": ?"step"')]
        self.assertEqual(steps, self.STEPS)
        self.assertEqual(len(os.listdir(shots)), 13)  # a screenshot of each browser after each step

        # What the browsers showed happened on the server.
        self.assertTrue(server.log.matching(r"authenticated as alice@localhost \(SCRAM-SHA-\d+\)"),
                        "alice's new account logged in")
        self.assertTrue(server.log.matching(r"http_upload: stored \w+ \(\d+ bytes\) for alice@localhost"))
        users = subprocess.run([harness.xmppctl_binary(), "--config", server.config_path, "listusers"],
                               capture_output=True, text=True, timeout=harness.TIMEOUT)
        self.assertIn("alice@localhost", users.stdout.split())


class ConverseOverBosh(SlixmppTestCase):
    """The web chat over BOSH (Strophe.js inside Converse is the BOSH client)."""

    async def test_logs_in_and_chats_over_bosh(self):
        server = self.start_server_with_users(http_toml="web_client = true", extra_toml=MODULES)
        bob = await self.login(server, BOB[0] + "/desk", BOB[1])
        since = server.log.mark()
        os.makedirs(ARTIFACTS, exist_ok=True)
        browser = NodeClient("converse_bosh.mjs", f"http://localhost:{server.http_port}/", "alice", ALICE[1],
                             BOB[0], os.path.join(ARTIFACTS, "web-chat-bosh.png"))
        self.addCleanup(browser.stop)
        outcome = await browser.event("(online|failed)", timeout=60)
        self.assertEqual(outcome["event"], "online", "\n".join(browser.log.lines()))
        await self.log_line(server, r"bosh: session \w+ for 127\.0\.0\.1", since)
        sent = await browser.event("(sent|failed)", timeout=60)
        self.assertEqual(sent["event"], "sent", "\n".join(browser.log.lines()))
        message = await bob.receive()
        self.assertEqual(message["body"], "hello over BOSH")
        self.assertEqual(message["from"].bare, "alice@localhost")
        bob.send_message(mto=message["from"].full, mbody="hello back, BOSH", mtype="chat")
        browser.command(reply="hello back, BOSH")
        outcome = await browser.event("(done|failed)", timeout=60)
        self.assertEqual(outcome["event"], "done", "\n".join(browser.log.lines()))
        self.assertFalse(browser.log.matching("websocket-opened"), "Converse used a WebSocket")

"""XMPP over BOSH (XEP-0124, XEP-0206) against the real xmppd: the whole flow (session
creation, SASL, restart, bind, held requests carrying a TCP client's messages, pause,
terminate), retransmissions, a broken 'rid', an expired session and malformed requests.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_bosh
"""

import asyncio
import base64
import http.client
import time
import xml.etree.ElementTree as ET

import harness
from test_slixmpp import ALICE, BOB, SlixmppTestCase

HTTPBIND = "http://jabber.org/protocol/httpbind"
NS = f"xmlns='{HTTPBIND}'"
XBOSH = "xmlns:xmpp='urn:xmpp:xbosh'"
MODULES = 'modules = ["roster", "presence", "offline", "disco"]\n'


class BoshClient:
    """A BOSH client on http.client: one request per call, each on a connection of its own
    (as a browser's parallel requests are), run off the event loop."""

    def __init__(self, port, ca_file=None):
        self.port, self.ca_file = port, ca_file
        self.rid = 4_000_000_000  # near 2^32: rids are 53-bit numbers, not 32-bit
        self.sid = None

    async def post(self, body, timeout=harness.TIMEOUT + 60):
        def run():
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            try:
                connection.request("POST", "/http-bind", body, {"Content-Type": "text/xml; charset=utf-8"})
                response = connection.getresponse()
                return response.status, response.read().decode()
            finally:
                connection.close()
        return await asyncio.to_thread(run)

    async def send(self, payload="", rid=None, **attributes):
        """A request of this session; returns (status, parsed <body/>, raw text)."""
        if rid is None:
            self.rid += 1
            rid = self.rid
        extra = "".join(f" {k.replace('_', ':', 1) if k.startswith('xmpp_') else k}='{v}'"
                        for k, v in attributes.items())
        status, text = await self.post(f"<body {NS} {XBOSH} rid='{rid}' sid='{self.sid}'{extra}>{payload}</body>")
        return status, ET.fromstring(text) if status == 200 else None, text

    async def create(self, wait=10, hold=1):
        self.rid += 1
        status, text = await self.post(f"<body {NS} {XBOSH} rid='{self.rid}' to='localhost' wait='{wait}' "
                                       f"hold='{hold}' ver='1.6' xmpp:version='1.0' xml:lang='en'/>")
        assert status == 200, (status, text)
        body = ET.fromstring(text)
        self.sid = body.get("sid")
        assert self.sid, text
        return body, text

    async def login(self, user, password):
        created, _ = await self.create()
        mechanisms = [m.text for m in created.iter("{urn:ietf:params:xml:ns:xmpp-sasl}mechanism")]
        assert "PLAIN" in mechanisms, mechanisms
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        _, body, text = await self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        assert body.find("{urn:ietf:params:xml:ns:xmpp-sasl}success") is not None, text
        _, body, text = await self.send(xmpp_restart="true")
        assert body.find("{http://etherx.jabber.org/streams}features/{urn:ietf:params:xml:ns:xmpp-bind}bind") \
            is not None, text
        _, body, text = await self.send("<iq xmlns='jabber:client' type='set' id='bind'>"
                                        "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>bosh</resource></bind></iq>")
        jid = body.find(".//{urn:ietf:params:xml:ns:xmpp-bind}jid")
        assert jid is not None, text
        return jid.text


class BoshTestCase(SlixmppTestCase):

    def start(self, http_toml="", **kwargs):
        return self.start_server_with_users(http_toml=http_toml, extra_toml=MODULES, **kwargs)

    async def bosh_login(self, server, account=ALICE):
        client = BoshClient(server.http_port)
        jid = await client.login(account[0].split("@")[0], account[1])
        return client, jid


class Flow(BoshTestCase):

    async def test_a_bosh_client_chats_with_a_tcp_client(self):
        server = self.start()
        client, jid = await self.bosh_login(server)
        self.assertEqual(jid, "alice@localhost/bosh")
        bob = await self.login(server, BOB[0] + "/desk", BOB[1])

        _, body, _ = await client.send(f"<message xmlns='jabber:client' to='{bob.boundjid.full}' type='chat'>"
                                       "<body>hello from BOSH</body></message>")
        message = await bob.receive()
        self.assertEqual((message["from"].full, message["body"]), (jid, "hello from BOSH"))

        # A held request carries what arrives while it waits.
        # (If the message is there first, the request finds it waiting: the same answer.)
        waiting = asyncio.ensure_future(client.send())
        bob.send_message(mto=jid, mbody="hello from TCP", mtype="chat")
        status, body, text = await asyncio.wait_for(waiting, harness.TIMEOUT)
        self.assertEqual(status, 200)
        bodies = [m.findtext("{jabber:client}body") for m in body.iter("{jabber:client}message")]
        self.assertEqual(bodies, ["hello from TCP"], text)

        # A retransmitted request (its answer was lost) gets the same answer again.
        status, again, again_text = await client.send(rid=client.rid)
        self.assertEqual(again_text, text)

        # Terminate: the session ends, and its sid is unknown afterwards.
        _, body, text = await client.send("<presence xmlns='jabber:client' type='unavailable'/>", type="terminate")
        self.assertEqual(body.get("type"), "terminate", text)
        await self.log_line(server, r"alice@localhost/bosh disconnected")
        _, body, _ = await client.send()
        self.assertEqual((body.get("type"), body.get("condition")), ("terminate", "item-not-found"))

    async def test_wait_hold_and_pause(self):
        server = self.start()
        client, jid = await self.bosh_login(server)
        # wait: an empty request comes back empty after at most the session's wait (2 s here).
        client2 = BoshClient(server.http_port)
        created, _ = await client2.create(wait=2)
        self.assertEqual(created.get("wait"), "2")
        started = time.monotonic()
        _, body, text = await client2.send()
        self.assertGreaterEqual(time.monotonic() - started, 1.5)
        self.assertEqual(len(list(body)), 0, text)
        # hold=1: a second request makes the first one return at once.
        # (Whichever arrives first, the server takes them in rid order.)
        started = time.monotonic()
        first = asyncio.ensure_future(client.send())
        second = asyncio.ensure_future(client.send())
        status, body, _ = await asyncio.wait_for(first, harness.TIMEOUT)
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - started, 5)  # well before the 10 s wait
        # pause: every held request is answered now, not after the 10 s wait.
        started = time.monotonic()
        _, body, text = await client.send(pause="30")
        status, body, _ = await asyncio.wait_for(second, harness.TIMEOUT)
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - started, 5)


class Refusals(BoshTestCase):

    async def test_broken_rid_ends_the_session(self):
        server = self.start()
        client, jid = await self.bosh_login(server)
        _, body, text = await client.send(rid=client.rid + 10)  # far outside the window of 2
        self.assertEqual((body.get("type"), body.get("condition")), ("terminate", "item-not-found"), text)
        await self.log_line(server, r"rid \d+ is outside the window")
        await self.log_line(server, r"alice@localhost/bosh disconnected")
        _, body, _ = await client.send()
        self.assertEqual(body.get("condition"), "item-not-found")

    async def test_polling_too_often_ends_the_session(self):
        server = self.start()
        client = BoshClient(server.http_port)
        created, _ = await client.create(hold=0)
        self.assertEqual((created.get("hold"), created.get("requests"), created.get("polling")), ("0", "1", "2"))
        _, body, text = await client.send()  # hold 0: answered at once, empty
        self.assertEqual(len(list(body)), 0, text)
        _, body, text = await client.send()  # again, within the 2 s 'polling'
        self.assertEqual((body.get("type"), body.get("condition")), ("terminate", "policy-violation"), text)

    async def test_an_inactive_session_expires(self):
        server = self.start(http_toml="bosh_inactivity = 1")
        client, jid = await self.bosh_login(server)
        await self.log_line(server, r"no request for 1 s; the session is over")
        await self.log_line(server, r"alice@localhost/bosh disconnected")
        _, body, _ = await client.send()
        self.assertEqual((body.get("type"), body.get("condition")), ("terminate", "item-not-found"))

    async def test_malformed_unknown_and_refused_requests(self):
        server = self.start(http_toml="max_body_bytes = 4096")
        client = BoshClient(server.http_port)
        for request, condition in [("<body xmlns='urn:other'/>", "bad-request"),
                                   ("not xml", "bad-request"),
                                   (f"<body {NS} rid='1'><!-- comment --></body>", "bad-request"),
                                   (f"<body {NS} rid='1' sid='nosuchsession'/>", "item-not-found"),
                                   (f"<body {NS} rid='1' to='elsewhere.example'/>", "host-unknown")]:
            status, text = await client.post(request)
            self.assertEqual(status, 200, request)
            body = ET.fromstring(text)
            self.assertEqual((body.get("type"), body.get("condition")), ("terminate", condition), request)
        status, _ = await client.post(f"<body {NS} rid='1' to='localhost'>" + "x" * 5000 + "</body>")
        self.assertEqual(status, 413)

        def get():
            connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=harness.TIMEOUT)
            connection.request("GET", "/http-bind")
            response = connection.getresponse()
            return response.status, response.getheader("Allow")
        self.assertEqual(await asyncio.to_thread(get), (405, "POST, OPTIONS"))

    async def test_untrusted_plain_http_is_refused(self):
        server = self.start(http_toml='trusted_proxies = ["192.0.2.1"]')
        status, text = await BoshClient(server.http_port).post(
            f"<body {NS} rid='1' to='localhost' wait='10' hold='1'/>")
        self.assertEqual(status, 403)
        self.assertIn("https://", text)

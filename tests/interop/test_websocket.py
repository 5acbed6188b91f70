"""XMPP over WebSocket (RFC 7395) and the HTTP layer, against the real xmppd: a web client
chats with a TCP client (slixmpp), resumes its session over a new WebSocket, and every kind
of hostile input gets its close code, HTTP status or stream error while the others chat on.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_websocket
"""

import asyncio
import json
import ssl
import xml.etree.ElementTree as ET

import harness
import websocket_support as wss
from test_slixmpp import ALICE, BOB, SlixmppTestCase

MODULES = 'modules = ["roster", "presence", "offline", "disco"]\n'


class WebSocketTestCase(SlixmppTestCase):

    def start(self, http_toml="", **kwargs):
        return self.start_server_with_users(http_toml=http_toml, extra_toml=MODULES, **kwargs)

    async def web_login(self, server, account=ALICE, resource="web", sm=False):
        ws, jid = await wss.login(server.http_port, account[0].split("@")[0], account[1], resource, sm=sm)
        self.addAsyncCleanup(ws.close)
        return ws, jid

    async def assert_web_to_tcp(self, ws, web_jid, tcp_client, body):
        ws.send(f"<message to='{tcp_client.boundjid.full}' type='chat'><body>{body}</body></message>")
        message = await tcp_client.receive()
        self.assertEqual(message["body"], body)
        self.assertEqual(message["from"].full, web_jid)

    async def assert_tcp_to_web(self, tcp_client, ws, web_jid, body):
        tcp_client.send_message(mto=web_jid, mbody=body, mtype="chat")
        message, text = await wss.next_message(ws)
        self.assertEqual(message.findtext("{jabber:client}body"), body, text)
        self.assertEqual(message.get("from"), tcp_client.boundjid.full, text)
        # Each message stands alone: the stanza declares its namespace itself.
        self.assertTrue(text.startswith("<message xmlns='jabber:client'"), text)


class Chat(WebSocketTestCase):

    async def test_web_client_and_tcp_client_chat_both_ways(self):
        server = self.start()
        ws, web_jid = await self.web_login(server)
        self.assertEqual(web_jid, "alice@localhost/web")
        bob = await self.login(server, BOB[0] + "/desk", BOB[1])
        await self.assert_web_to_tcp(ws, web_jid, bob, "hello from the browser")
        await self.assert_tcp_to_web(bob, ws, web_jid, "hello from the desktop")
        # Every module serves WebSocket sessions too: the roster, for one.
        ws.send("<iq type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>")
        roster, text = await ws.recv_element()
        self.assertEqual(roster.get("type"), "result", text)
        # The client closes its stream: the server closes its own, then the WebSocket.
        ws.send(wss.CLOSE)
        closed, text = await ws.recv_element()
        self.assertEqual(closed.tag, f"{{{wss.FRAMING}}}close", text)
        await ws.expect_close(1000)
        await self.log_line(server, r"alice@localhost/web disconnected")

    async def test_pings_are_answered_and_fragments_reassembled(self):
        server = self.start()
        ws, web_jid = await self.web_login(server)
        bob = await self.login(server, BOB[0] + "/desk", BOB[1])
        ws.send(b"are you there", opcode=wss.PING)
        self.assertEqual(await ws.recv(), (wss.PONG, b"are you there"))
        # One stanza in three frames, a ping between them (RFC 6455 §5.4).
        stanza = f"<message to='{bob.boundjid.full}' type='chat'><body>in pieces</body></message>"
        ws.send(stanza[:10], fin=False)
        ws.send(stanza[10:30], opcode=0, fin=False)
        ws.send(b"x", opcode=wss.PING)
        ws.send(stanza[30:], opcode=0)
        self.assertEqual(await ws.recv(), (wss.PONG, b"x"))
        message = await bob.receive()
        self.assertEqual(message["body"], "in pieces")
        self.assertEqual(message["from"].full, web_jid)

    async def test_the_server_pings_and_drops_a_client_that_stops_answering(self):
        server = self.start(c2s_toml="keepalive_interval = 1\nkeepalive_timeout = 1")
        ws, web_jid = await self.web_login(server)
        for _ in range(2):  # answered: the session stays
            opcode, payload = await ws.recv()
            self.assertEqual(opcode, wss.PING)
            ws.send(payload, opcode=wss.PONG)
        since = server.log.mark()
        self.assertEqual((await ws.recv())[0], wss.PING)  # not answered this time
        await self.log_line(server, r"alice@localhost/web: no answer to a keepalive within 1 s", since)
        await self.log_line(server, r"alice@localhost/web disconnected", since)

    async def test_session_resumes_over_a_new_websocket(self):
        server = self.start()
        ws, web_jid = await self.web_login(server, resource="phone", sm=True)
        bob = await self.login(server, BOB[0] + "/desk", BOB[1])
        await self.assert_tcp_to_web(bob, ws, web_jid, "first")  # read, never acknowledged
        since = server.log.mark()
        ws.abort()  # the phone's network goes away: no <close/>, no close frame
        await self.log_line(server, r"alice@localhost/phone hibernated", since)
        bob.send_message(mto=web_jid, mbody="second", mtype="chat")
        await bob.barrier()  # the server has routed it: it waits in the hibernated session

        again = await wss.WebSocket.connect(server.http_port)
        self.addAsyncCleanup(again.close)
        await wss.authenticate(again, "alice", ALICE[1])
        await wss.open_stream(again)
        again.send(f"<resume xmlns='urn:xmpp:sm:3' previd='{ws.sm_id}' h='0'/>")
        resumed, text = await again.recv_element()
        self.assertEqual(resumed.tag, "{urn:xmpp:sm:3}resumed", text)
        bodies = [(await wss.next_message(again))[0].findtext("{jabber:client}body") for _ in range(2)]
        self.assertEqual(bodies, ["first", "second"])  # unacknowledged, again and in order
        await self.log_line(server, r"resumed alice@localhost/phone \(\d+ stanza")
        await self.assert_web_to_tcp(again, web_jid, bob, "back again")


class Encryption(WebSocketTestCase):

    async def test_plain_websocket_from_a_trusted_address_may_use_plain(self):
        server = self.start()  # 127.0.0.1 is trusted by default
        ws = await wss.WebSocket.connect(server.http_port)
        self.addAsyncCleanup(ws.close)
        self.assertEqual(ws.status, 101)
        self.assertEqual(ws.headers.get("sec-websocket-protocol"), "xmpp")
        features = await wss.open_stream(ws)
        self.assertIn("PLAIN", wss.mechanisms(features))
        self.assertIsNone(features.find("{urn:ietf:params:xml:ns:xmpp-tls}starttls"))  # never on WebSocket

    async def test_untrusted_plain_websocket_is_refused_and_wss_works(self):
        server = self.start(http_toml='trusted_proxies = ["192.0.2.1"]')
        refused = await wss.WebSocket.connect(server.http_port)
        self.assertEqual(refused.status, 403)
        self.assertIn(b"wss://", refused.body)
        await refused.close()
        ws, jid = await wss.login(server.https_port, "alice", ALICE[1], ca_file=server.ca_file)
        self.addAsyncCleanup(ws.close)
        self.assertEqual(jid, "alice@localhost/web")

    async def test_untrusted_plain_websocket_without_required_encryption_gets_no_plain(self):
        server = self.start_server_with_users(http_toml='trusted_proxies = ["192.0.2.1"]', extra_toml=MODULES,
                                              c2s_toml="require_encryption = false")
        ws = await wss.WebSocket.connect(server.http_port)
        self.addAsyncCleanup(ws.close)
        self.assertEqual(ws.status, 101)
        features = await wss.open_stream(ws)
        self.assertEqual(wss.mechanisms(features), ["SCRAM-SHA-256", "SCRAM-SHA-1"])


class BadInput(WebSocketTestCase):
    """Each hostile connection gets its answer; a TCP and a web client chat on meanwhile."""

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.server = self.start(http_toml='allowed_origins = ["https://chat.example"]')
        self.carol_ws, self.carol_jid = await self.web_login(self.server)
        self.bob = await self.login(self.server, BOB[0] + "/desk", BOB[1])

    async def asyncTearDown(self):
        await self.assert_web_to_tcp(self.carol_ws, self.carol_jid, self.bob, "still here")
        await self.assert_tcp_to_web(self.bob, self.carol_ws, self.carol_jid, "me too")

    async def logged_in(self):
        ws, _ = await self.web_login(self.server, resource="hostile")
        return ws

    async def upgrade_status(self, **kwargs):
        ws = await wss.WebSocket.connect(self.server.http_port, **kwargs)
        await ws.close()
        return ws.status, ws.body

    async def test_handshakes_without_xmpp_or_from_another_origin(self):
        self.assertEqual((await self.upgrade_status(protocol=None))[0], 400)
        status, body = await self.upgrade_status(protocol="chat, superchat")
        self.assertEqual(status, 400)
        self.assertIn(b"xmpp", body)
        self.assertEqual((await self.upgrade_status(origin="https://evil.example"))[0], 403)
        self.assertEqual((await self.upgrade_status(origin="https://chat.example"))[0], 101)
        reader, writer = await wss.open_connection(self.server.http_port)
        writer.write(b"GET /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\n\r\n")
        status, headers, _ = await wss.read_http_response(reader)
        self.assertEqual((status, headers.get("upgrade")), (426, "websocket"))
        writer.close()

    async def test_frames_rfc_6455_forbids(self):
        for frame, code in [(wss.frame(b"\x00\x01", opcode=wss.BINARY), 1003),
                            (wss.frame("<presence/>", masked=False), 1002),
                            (wss.frame("<message><body>\xc3\x28</body></message>".encode("latin-1")), 1007),
                            (wss.frame("<message><body>" + "x" * 300000 + "</body></message>"), 1009)]:
            ws = await self.logged_in()
            ws.send_raw(frame)
            reason = await ws.expect_close(code)
            self.assertTrue(reason, "the close frame says why")
            await self.log_line(self.server, r"alice@localhost/hostile disconnected")

    async def test_messages_that_are_not_one_whole_element(self):
        smuggled = "<message to='bob@localhost/desk' type='chat'><body>smuggled</body></message>"
        for payload, condition in [(smuggled + "<presence/>", "not-well-formed"),
                                   ("<message to='bob@localhost'><body>cut", "not-well-formed"),
                                   ("<!-- a comment -->", "restricted-xml"),
                                   ("<message><body>&ent;</body></message>", "not-well-formed")]:
            ws = await self.logged_in()
            ws.send(payload)
            await ws.expect_stream_error(condition)
        # Nothing of the broken messages reached anyone: bob's next message is carol's
        # (asyncTearDown), not the one smuggled in front of a second element.

    async def test_http_request_smuggling_and_oversized_headers(self):
        for request, status in [
                (b"POST /xmpp-websocket HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
                (b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd", 400),
                (b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n", 431)]:
            reader, writer = await wss.open_connection(self.server.http_port)
            writer.write(request)
            got, headers, _ = await wss.read_http_response(reader)
            self.assertEqual(got, status, request[:60])
            self.assertEqual(headers.get("connection"), "close")
            self.assertEqual(await asyncio.wait_for(reader.read(), harness.TIMEOUT), b"", "connection left open")
            writer.close()


class Discovery(WebSocketTestCase):

    async def https_get(self, server, path, origin=None):
        reader, writer = await wss.open_connection(server.https_port, server.ca_file)
        request = f"GET {path} HTTP/1.1\r\nHost: localhost:{server.https_port}\r\n"
        if origin:
            request += f"Origin: {origin}\r\n"
        writer.write((request + "\r\n").encode())
        response = await wss.read_http_response(reader)
        writer.close()
        return response

    async def test_host_meta_names_a_websocket_that_works(self):
        server = self.start()
        status, headers, body = await self.https_get(server, "/.well-known/host-meta")
        self.assertEqual(status, 200)
        self.assertEqual(headers["content-type"], "application/xrd+xml")
        links = ET.fromstring(body).findall("{http://docs.oasis-open.org/ns/xri/xrd-1.0}Link")
        hrefs = [link.get("href") for link in links if link.get("rel") == "urn:xmpp:alt-connections:websocket"]
        self.assertEqual(hrefs, [f"wss://localhost:{server.https_port}/xmpp-websocket"])
        bosh = [link.get("href") for link in links if link.get("rel") == "urn:xmpp:alt-connections:xbosh"]
        self.assertEqual(bosh, [f"https://localhost:{server.https_port}/http-bind"])
        status, headers, body = await self.https_get(server, "/.well-known/host-meta.json", origin="https://x.example")
        self.assertEqual(headers.get("access-control-allow-origin"), "*")  # readable by any page
        links = json.loads(body)["links"]
        self.assertEqual([l["href"] for l in links if l["rel"] == "urn:xmpp:alt-connections:websocket"], hrefs)
        self.assertEqual([l["href"] for l in links if l["rel"] == "urn:xmpp:alt-connections:xbosh"], bosh)
        # The URL it names takes a login.
        ws, jid = await wss.login(server.https_port, "alice", ALICE[1], ca_file=server.ca_file)
        self.addAsyncCleanup(ws.close)
        self.assertEqual(jid, "alice@localhost/web")

    async def test_unknown_paths_are_not_found(self):
        server = self.start()
        status, _, _ = await self.https_get(server, "/no/such/thing")
        self.assertEqual(status, 404)

"""A small RFC 6455 client for the XMPP-over-WebSocket tests: it speaks the protocol as a
browser does, and can break it on purpose (unmasked, binary, oversized or invalid frames),
which no well-behaved library lets a test do. On top of it, just enough RFC 7395 to log in.
"""

import asyncio
import base64
import hashlib
import os
import ssl
import struct
import xml.etree.ElementTree as ET

import harness

FRAMING = "urn:ietf:params:xml:ns:xmpp-framing"
OPEN = f"<open xmlns='{FRAMING}' to='localhost' version='1.0'/>"
CLOSE = f"<close xmlns='{FRAMING}'/>"
TEXT, BINARY, CLOSE_FRAME, PING, PONG = 1, 2, 8, 9, 10


def frame(payload, opcode=TEXT, fin=True, masked=True):
    if isinstance(payload, str):
        payload = payload.encode()
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if len(payload) < 126:
        head += bytes([mask_bit | len(payload)])
    elif len(payload) < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", len(payload))
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", len(payload))
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def read_http_response(reader):
    """(status, {lowercase name: value}, body) of one HTTP/1.1 response."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), harness.TIMEOUT)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = b""
    if "content-length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), harness.TIMEOUT)
    return status, headers, body


async def open_connection(port, ca_file=None):
    context = None
    if ca_file:
        context = ssl.create_default_context(cafile=ca_file)
    return await asyncio.open_connection("127.0.0.1", port, ssl=context,
                                         server_hostname="localhost" if context else None)


class WebSocket:
    def __init__(self, reader, writer, status, headers, body):
        self.reader, self.writer = reader, writer
        self.status, self.headers, self.body = status, headers, body

    @classmethod
    async def connect(cls, port, ca_file=None, protocol="xmpp", origin=None, path="/xmpp-websocket"):
        """Sends the upgrade request; the result says whether the server switched (101)."""
        reader, writer = await open_connection(port, ca_file)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
                   f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if protocol:
            request += f"Sec-WebSocket-Protocol: {protocol}\r\n"
        if origin:
            request += f"Origin: {origin}\r\n"
        writer.write((request + "\r\n").encode())
        status, headers, body = await read_http_response(reader)
        socket = cls(reader, writer, status, headers, body)
        if status == 101:
            expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                                        .digest()).decode()
            assert headers.get("sec-websocket-accept") == expected, headers
        return socket

    def send_raw(self, data):
        self.writer.write(data)

    def send(self, payload, opcode=TEXT, fin=True, masked=True):
        self.writer.write(frame(payload, opcode, fin, masked))

    async def recv(self):
        """(opcode, payload bytes) of the next frame; a server's frames are never masked."""
        head = await asyncio.wait_for(self.reader.readexactly(2), harness.TIMEOUT)
        assert head[0] & 0x80, "the server sent a fragment"
        assert not head[1] & 0x80, "the server masked a frame"
        size = head[1] & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        return head[0] & 0x0F, await asyncio.wait_for(self.reader.readexactly(size), harness.TIMEOUT)

    async def recv_text(self):
        opcode, payload = await self.recv()
        assert opcode == TEXT, (opcode, payload)
        return payload.decode()

    async def recv_element(self):
        """The next message, which must be one whole element that stands alone."""
        text = await self.recv_text()
        return ET.fromstring(text), text

    async def expect_close(self, code):
        """The server closes the WebSocket with `code` (skipping what came before)."""
        while True:
            opcode, payload = await self.recv()
            if opcode == CLOSE_FRAME:
                assert struct.unpack("!H", payload[:2])[0] == code, payload
                return payload[2:].decode()

    async def expect_stream_error(self, condition):
        element, text = await self.recv_element()
        assert element.tag == "{http://etherx.jabber.org/streams}error", text
        assert element.find(f"{{urn:ietf:params:xml:ns:xmpp-streams}}{condition}") is not None, text
        element, text = await self.recv_element()
        assert element.tag == f"{{{FRAMING}}}close", text
        await self.expect_close(1000)

    def abort(self):
        self.writer.transport.abort()

    async def close(self):
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, ssl.SSLError):
            pass


async def open_stream(ws):
    """Sends <open/>; returns the stream features element."""
    ws.send(OPEN)
    opened, text = await ws.recv_element()
    assert opened.tag == f"{{{FRAMING}}}open" and opened.get("version") == "1.0", text
    features, text = await ws.recv_element()
    assert features.tag == "{http://etherx.jabber.org/streams}features", text
    return features


def mechanisms(features):
    return [m.text for m in features.iter("{urn:ietf:params:xml:ns:xmpp-sasl}mechanism")]


async def login(port, user, password, resource="web", ca_file=None, sm=False):
    """A WebSocket logged in with SASL PLAIN and bound; returns (ws, full JID)."""
    ws = await WebSocket.connect(port, ca_file)
    assert ws.status == 101, (ws.status, ws.body)
    await authenticate(ws, user, password)
    features = await open_stream(ws)
    assert features.find("{urn:ietf:params:xml:ns:xmpp-bind}bind") is not None
    jid = await bind(ws, resource)
    if sm:
        ws.send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
        enabled, text = await ws.recv_element()
        assert enabled.tag == "{urn:xmpp:sm:3}enabled" and enabled.get("id"), text
        ws.sm_id = enabled.get("id")
    return ws, jid


async def authenticate(ws, user, password):
    features = await open_stream(ws)
    assert "PLAIN" in mechanisms(features), ET.tostring(features)
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    ws.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
    success, text = await ws.recv_element()
    assert success.tag == "{urn:ietf:params:xml:ns:xmpp-sasl}success", text


async def bind(ws, resource):
    ws.send(f"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
            f"<resource>{resource}</resource></bind></iq>")
    result, text = await ws.recv_element()
    assert result.tag == "{jabber:client}iq" and result.get("type") == "result", text
    return result.find("{urn:ietf:params:xml:ns:xmpp-bind}bind/{urn:ietf:params:xml:ns:xmpp-bind}jid").text


async def next_message(ws):
    """The next <message/>, skipping presence and SM requests."""
    while True:
        element, text = await ws.recv_element()
        if element.tag == "{jabber:client}message":
            return element, text

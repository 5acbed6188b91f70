"""XEP-0065 SOCKS5 Bytestreams proxy (modules/proxy65) with slixmpp's xep_0065 plugin and a
raw SOCKS5 client against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_proxy65
"""

import asyncio
import hashlib
import os
import struct
import time
import unittest

from slixmpp.exceptions import IqError

from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, SlixmppTestCase

PROXY = "proxy.localhost"


def modules_toml(settings=""):
    return ('modules = ["disco", "proxy65"]\n\n'
            '[modules.proxy65]\naddress = "127.0.0.1"\nport = 0\n' + settings)


def dest_hash(sid, requester, target):
    return hashlib.sha1(f"{sid}{requester}{target}".encode()).hexdigest()


class Receiver:
    """What a target's slixmpp client receives over its bytestream."""

    def __init__(self, client):
        self.data = bytearray()
        self.closed = asyncio.Event()
        client.add_event_handler("socks5_data", self.data.extend)
        client.add_event_handler("socks5_closed", lambda _: self.closed.set())

    async def wait_closed(self):
        await asyncio.wait_for(self.closed.wait(), TIMEOUT)


async def socks5_connect(port, address, methods=b"\x00", atyp=3):
    """A raw SOCKS5 CONNECT to a domain name; returns (reader, writer, reply)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(bytes([5, len(methods)]) + methods)
    choice = await asyncio.wait_for(reader.readexactly(2), TIMEOUT)
    if choice != b"\x05\x00":
        return reader, writer, choice
    if atyp == 3:
        name = address.encode()
        writer.write(bytes([5, 1, 0, 3, len(name)]) + name + struct.pack(">H", 0))
    else:  # an IPv4 address
        writer.write(bytes([5, 1, 0, 1]) + bytes(int(x) for x in address.split(".")) + struct.pack(">H", 0))
    head = await asyncio.wait_for(reader.readexactly(5), TIMEOUT)
    rest = await asyncio.wait_for(reader.readexactly(head[4] + 2 if head[3] == 3 else 5), TIMEOUT)
    return reader, writer, head + rest


class ProxyTestCase(SlixmppTestCase):

    def start_proxy_server(self, settings=""):
        server = self.start_server_with_users(extra_toml=modules_toml(settings))
        match = server.log.wait_for(r"proxy65 listening on 127\.0\.0\.1:(\d+) \(announced as 127\.0\.0\.1:(\d+)\)")
        server.proxy_port = int(match.group(1))
        self.assertEqual(match.group(2), match.group(1))
        return server

    async def login_pair(self, server):
        alice = await self.login(server, "alice@localhost/sender", ALICE[1])
        bob = await self.login(server, "bob@localhost/receiver", BOB[1])
        for client in (alice, bob):
            client.register_plugin("xep_0065")
        bob["xep_0065"].auto_accept = True
        return alice, bob

    async def send_file(self, sender, receiver_client, data):
        """The plugin's whole flow: discovery, offer, connections, activation, then data."""
        receiver = Receiver(receiver_client)
        sock = await sender["xep_0065"].handshake(receiver_client.boundjid.full, timeout=TIMEOUT)
        self.assertIsNotNone(sock, "no bytestream")
        started = time.monotonic()
        for i in range(0, len(data), 65536):
            await sock.write(data[i:i + 65536])
        sock.transport.close()  # flushes what is buffered, then closes
        await asyncio.wait_for(receiver.closed.wait(), TIMEOUT + 30)
        return bytes(receiver.data), time.monotonic() - started


class Transfer(ProxyTestCase):

    async def test_file_goes_through_the_proxy_byte_identical(self):
        server = self.start_proxy_server("max_bytes_per_second = 0\n")
        alice, bob = await self.login_pair(server)
        reply = await alice["xep_0065"].get_network_address(PROXY, timeout=TIMEOUT)
        streamhost = reply["socks"]["streamhost"]
        self.assertEqual((str(streamhost["jid"]), streamhost["host"], int(streamhost["port"])),
                         (PROXY, "127.0.0.1", server.proxy_port))
        data = os.urandom(3 * 1024 * 1024)
        since = server.log.mark()
        received, _ = await self.send_file(alice, bob, data)
        self.assertEqual(len(received), len(data))
        self.assertEqual(hashlib.sha256(received).digest(), hashlib.sha256(data).digest())
        await self.log_line(server, rf"proxy65: stream [0-9a-f]{{40}} of alice@localhost ended after {len(data)} bytes",
                            since)

    async def test_bandwidth_limit(self):
        rate = 256 * 1024
        server = self.start_proxy_server(f"max_bytes_per_second = {rate}\n")
        alice, bob = await self.login_pair(server)
        data = os.urandom(3 * rate)
        received, elapsed = await self.send_file(alice, bob, data)
        self.assertEqual(received, data)
        # One second's worth passes at once, the other two at the rate.
        self.assertGreater(elapsed, 1.6)
        self.assertLess(elapsed, 10)

    async def test_streams_per_user(self):
        server = self.start_proxy_server("max_streams_per_user = 1\n")
        alice, bob = await self.login_pair(server)
        receiver = Receiver(bob)
        first = await alice["xep_0065"].handshake(bob.boundjid.full, timeout=TIMEOUT)
        with self.assertRaises(IqError) as raised:
            await alice["xep_0065"].handshake(bob.boundjid.full, timeout=TIMEOUT)
        self.assertEqual(raised.exception.iq["error"]["condition"], "resource-constraint")
        # Once the first stream is over, alice may open another.
        since = server.log.mark()
        first.transport.close()
        await receiver.wait_closed()
        await self.log_line(server, r"proxy65: stream [0-9a-f]{40} of alice@localhost ended", since)
        received, _ = await self.send_file(alice, bob, b"second stream")
        self.assertIn(b"second stream", received)


class Activation(ProxyTestCase):
    """The SOCKS5 side by hand: pairing by hash, who may activate, and refusals."""

    async def test_only_the_requester_activates_a_complete_pair(self):
        server = self.start_proxy_server()
        alice, bob = await self.login_pair(server)
        sid = "s1"
        requester, target = alice.boundjid.full, bob.boundjid.full
        address = dest_hash(sid, requester, target)

        # Nothing connected yet: nothing to activate.
        with self.assertRaises(IqError) as raised:
            await alice["xep_0065"].activate(PROXY, sid, target, timeout=TIMEOUT)
        self.assertEqual(raised.exception.iq["error"]["condition"], "item-not-found")

        t_reader, t_writer, reply = await socks5_connect(server.proxy_port, address)
        expected = bytes([5, 0, 0, 3, 40]) + address.encode() + b"\x00\x00"
        self.assertEqual(reply, expected)
        # Only the target is there: still no pair.
        with self.assertRaises(IqError) as raised:
            await alice["xep_0065"].activate(PROXY, sid, target, timeout=TIMEOUT)
        self.assertEqual(raised.exception.iq["error"]["condition"], "item-not-found")

        r_reader, r_writer, reply = await socks5_connect(server.proxy_port, address)
        self.assertEqual(reply, expected)
        # A third connection under the same hash is refused (RFC 1928 "not allowed").
        _, x_writer, reply = await socks5_connect(server.proxy_port, address)
        self.assertEqual(reply[:2], b"\x05\x02")
        x_writer.close()

        # Bob is not the requester: for him the hash names no pair.
        with self.assertRaises(IqError) as raised:
            await bob["xep_0065"].activate(PROXY, sid, target, timeout=TIMEOUT)
        self.assertEqual(raised.exception.iq["error"]["condition"], "item-not-found")
        # Nothing is relayed before activation.
        r_writer.write(b"early")
        with self.assertRaises(asyncio.TimeoutError):
            await asyncio.wait_for(t_reader.read(1), 0.3)

        await alice["xep_0065"].activate(PROXY, sid, target, timeout=TIMEOUT)
        self.assertEqual(await asyncio.wait_for(t_reader.readexactly(5), TIMEOUT), b"early")
        t_writer.write(b"both ways")
        self.assertEqual(await asyncio.wait_for(r_reader.readexactly(9), TIMEOUT), b"both ways")
        r_writer.write_eof()  # the requester is done: the target reads the end
        self.assertEqual(await asyncio.wait_for(t_reader.read(), TIMEOUT), b"")
        t_writer.close()
        r_writer.close()

    async def test_idle_streams_are_closed(self):
        server = self.start_proxy_server("idle_timeout = 1\n")
        alice, bob = await self.login_pair(server)
        sid, requester, target = "idle", alice.boundjid.full, bob.boundjid.full
        address = dest_hash(sid, requester, target)
        t_reader, t_writer, _ = await socks5_connect(server.proxy_port, address)
        r_reader, r_writer, _ = await socks5_connect(server.proxy_port, address)
        since = server.log.mark()
        await alice["xep_0065"].activate(PROXY, sid, target, timeout=TIMEOUT)
        r_writer.write(b"ping")
        self.assertEqual(await asyncio.wait_for(t_reader.readexactly(4), TIMEOUT), b"ping")
        # Then silence, with both ends open: after idle_timeout the proxy closes both.
        self.assertEqual(await asyncio.wait_for(t_reader.read(), TIMEOUT), b"")
        self.assertEqual(await asyncio.wait_for(r_reader.read(), TIMEOUT), b"")
        await self.log_line(server, rf"proxy65: stream {address} of alice@localhost ended after 4 bytes", since)
        t_writer.close()
        r_writer.close()

    async def test_bad_socks_requests_are_refused(self):
        server = self.start_proxy_server()
        await self.login_pair(server)
        # Only username/password offered: no acceptable method.
        reader, writer, reply = await socks5_connect(server.proxy_port, "x", methods=b"\x02")
        self.assertEqual(reply, b"\x05\xff")
        self.assertEqual(await asyncio.wait_for(reader.read(), TIMEOUT), b"")
        writer.close()
        # An IPv4 address instead of the hash: address type not supported.
        reader, writer, reply = await socks5_connect(server.proxy_port, "127.0.0.1", atyp=1)
        self.assertEqual(reply[:2], b"\x05\x08")
        writer.close()
        # A domain name that is no SHA-1: general failure.
        reader, writer, reply = await socks5_connect(server.proxy_port, "not-a-hash")
        self.assertEqual(reply[:2], b"\x05\x01")
        writer.close()

    async def test_unpaired_connections_time_out_and_connections_are_limited(self):
        server = self.start_proxy_server("pair_timeout = 1\nmax_connections = 2\n")
        await self.login_pair(server)
        a_reader, a_writer, reply = await socks5_connect(server.proxy_port, "a" * 40)
        self.assertEqual(reply[:2], b"\x05\x00")
        b_reader, b_writer, reply = await socks5_connect(server.proxy_port, "b" * 40)
        self.assertEqual(reply[:2], b"\x05\x00")
        # A third connection is over max_connections: closed without an answer.
        since = server.log.mark()
        c_reader, c_writer = await asyncio.open_connection("127.0.0.1", server.proxy_port)
        self.assertEqual(await asyncio.wait_for(c_reader.read(), TIMEOUT), b"")
        await self.log_line(server, r"proxy65: refusing a connection: 2 open", since)
        # Never activated: the proxy closes them after pair_timeout.
        self.assertEqual(await asyncio.wait_for(a_reader.read(), TIMEOUT), b"")
        self.assertEqual(await asyncio.wait_for(b_reader.read(), TIMEOUT), b"")
        await self.log_line(server, r"proxy65: closed connections for a{40}: not activated within 1 s", since)
        # Room again.
        d_reader, d_writer, reply = await socks5_connect(server.proxy_port, "d" * 40)
        self.assertEqual(reply[:2], b"\x05\x00")
        for writer in (a_writer, b_writer, c_writer, d_writer):
            writer.close()


if __name__ == "__main__":
    unittest.main()

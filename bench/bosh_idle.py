#!/usr/bin/env python3
"""BOSH sessions held idle (XEP-0124/0206): N sessions log in over /http-bind, each keeps one
request held (wait=W), and the server's CPU use and memory are sampled while nothing
happens. The target: below 5 % of a core for 10,000 sessions with wait=60.

    bench/bosh_idle.py --port HTTP_PORT --server-pid PID [--sessions 10000] [--wait 60]
                       [--accounts 1000] [--measure 20] [--concurrency 200]

Connection i logs in as bench<i % accounts> (password benchpass) with resource b<i>, with
SASL PLAIN (the loopback is a trusted address). Prints one RESULT line, as xmppbench does.
"""

import argparse
import asyncio
import base64
import os
import resource
import sys
import time

NS = "xmlns='http://jabber.org/protocol/httpbind'"


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


class Session:
    """One BOSH session on one keep-alive connection: its login's requests in turn, then the
    request it keeps held (a browser would open a second connection for its next request;
    idle, there is none)."""

    def __init__(self, port, index, accounts, password, wait):
        self.port, self.index, self.wait = port, index, wait
        self.user, self.password = f"bench{index % accounts}", password
        self.rid = 1_000_000 + index * 1000
        self.sid = None
        self.streams = None

    async def post(self, streams, body):
        reader, writer = streams
        data = body.encode()
        writer.write(b"POST /http-bind HTTP/1.1\r\nHost: localhost\r\nContent-Type: text/xml\r\n"
                     b"Content-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.split(b"\r\n")[0].decode())
        return (await reader.readexactly(length)).decode()

    async def request(self, payload="", extra=""):
        self.rid += 1
        return await self.post(self.streams, f"<body {NS} rid='{self.rid}' sid='{self.sid}'{extra}>{payload}</body>")

    async def login(self):
        self.streams = await asyncio.open_connection("127.0.0.1", self.port)
        self.rid += 1
        created = await self.post(self.streams, f"<body {NS} rid='{self.rid}' to='localhost' wait='{self.wait}' "
                                                "hold='1' ver='1.6' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'/>")
        self.sid = created.split("sid='", 1)[1].split("'", 1)[0]
        token = base64.b64encode(f"\0{self.user}\0{self.password}".encode()).decode()
        if "<success" not in await self.request(
                f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>"):
            raise RuntimeError("authentication failed")
        await self.request(extra=" xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'")
        bound = await self.request("<iq xmlns='jabber:client' type='set' id='b'><bind "
                                   f"xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>b{self.index}</resource></bind></iq>")
        if "<jid>" not in bound:
            raise RuntimeError("bind failed")

    async def hold(self):
        """Keeps one request held, sending the next when one comes back (after `wait`);
        False if the session was lost."""
        while True:
            self.rid += 1
            answer = await self.post(self.streams, f"<body {NS} rid='{self.rid}' sid='{self.sid}'/>")
            if "type='terminate'" in answer:
                return False


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--sessions", type=int, default=10000)
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--password", default="benchpass")
    parser.add_argument("--wait", type=int, default=60)
    parser.add_argument("--measure", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--label", default="bosh-idle")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, args.sessions + 100)), hard))

    rss0 = rss_kb(args.server_pid)
    sessions = [Session(args.port, i, args.accounts, args.password, args.wait) for i in range(args.sessions)]
    slots = asyncio.Semaphore(args.concurrency)
    failed = 0

    async def login(session):
        nonlocal failed
        async with slots:
            try:
                await session.login()
            except Exception as error:  # counted and reported: the run fails
                failed += 1
                if failed <= 3:
                    print(f"bosh_idle: {session.user}: {error}", file=sys.stderr)

    started = time.monotonic()
    await asyncio.gather(*(login(s) for s in sessions))
    login_s = time.monotonic() - started
    holders = [asyncio.ensure_future(s.hold()) for s in sessions if s.sid]
    await asyncio.sleep(2)  # every held request has reached the server (the measure is of idleness)

    cpu0, t0 = cpu_seconds(args.server_pid), time.monotonic()
    await asyncio.sleep(args.measure)
    cpu1, t1 = cpu_seconds(args.server_pid), time.monotonic()
    rss1 = rss_kb(args.server_pid)
    dropped = sum(1 for h in holders if h.done() and (h.cancelled() or h.exception() or h.result() is False))
    for h in holders:
        h.cancel()
    pct = 100 * (cpu1 - cpu0) / (t1 - t0)
    print(f"RESULT scenario=bosh-idle label={args.label} sessions={args.sessions} wait={args.wait} "
          f"logins_failed={failed} dropped={dropped} login_s={login_s:.1f} idle_server_cpu_pct={pct:.2f} "
          f"rss_before_kb={rss0} rss_after_kb={rss1} kb_per_session={(rss1 - rss0) / args.sessions:.2f} "
          f"measure_s={t1 - t0:.1f}")
    return 1 if failed or dropped else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

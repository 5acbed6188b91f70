"""XEP-0363 HTTP File Upload (modules/http_upload) with slixmpp, urllib's http.client and
curl against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_http_upload
"""

import asyncio
import glob
import hashlib
import http.client
import io
import os
import re
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import aiohttp.connector
import slixmpp.plugins.xep_0030.disco as slixmpp_disco
from slixmpp.exceptions import IqError
from slixmpp.plugins.xep_0363.http_upload import FileTooBig

from harness import TIMEOUT
from test_slixmpp import ALICE, BOB, SlixmppTestCase



class _AsyncioWithTaskWait:
    """slixmpp 1.8.3's disco get_info_from_domain() (which xep_0363 uses to find the service)
    passes coroutines to asyncio.wait(), which Python 3.11 refuses; this wraps them in tasks
    for that module only, so the plugin's own discovery runs unchanged."""

    def __getattr__(self, name):
        return getattr(asyncio, name)

    @staticmethod
    async def wait(aws, **kwargs):
        return await asyncio.wait([asyncio.ensure_future(a) for a in aws], **kwargs)


slixmpp_disco.asyncio = _AsyncioWithTaskWait()

UPLOAD_NS = "urn:xmpp:http:upload:0"
STANZA_ERRORS = "urn:ietf:params:xml:ns:xmpp-stanzas"
SERVICE = "upload.localhost"
MiB = 1024 * 1024


def modules_toml(settings=""):
    # Files are served on the server's HTTPS listener (port 0: the harness learns it from the log).
    return 'modules = ["disco", "http_upload"]\n\n[modules.http_upload]\n' + settings


class UploadTestCase(SlixmppTestCase):

    def start_upload_server(self, settings=""):
        server = self.start_server_with_users(http_toml="", extra_toml=modules_toml(settings))
        match = server.log.wait_for(r"http_upload: files of localhost at (\S+)")
        self.assertEqual(match.group(1), f"https://localhost:{server.https_port}/upload/localhost")
        return server

    def uploads(self, server):
        """What the store directory holds (data, descriptions, partial uploads)."""
        return sorted(os.path.basename(p) for p in
                      glob.glob(os.path.join(server.data_dir, "uploads", "localhost", "*")))

    async def login_uploader(self, server, jid, password):
        client = await self.login(server, jid, password)
        client.register_plugin("xep_0363")
        return client

    async def slot(self, client, filename, size, content_type="application/octet-stream"):
        reply = await client["xep_0363"].request_slot(SERVICE, filename, size, content_type, timeout=TIMEOUT)
        slot = reply["http_upload_slot"]
        return slot["put"]["url"], slot["get"]["url"]

    async def http(self, server, method, url, body=None, headers=None):
        """One request on a fresh connection: (status, headers, body)."""
        def run():
            parts = urllib.parse.urlsplit(url) if url.startswith("https:") else None
            path = (parts.path + ("?" + parts.query if parts.query else "")) if parts else url
            context = ssl.create_default_context(cafile=server.ca_file)
            connection = http.client.HTTPSConnection("localhost", server.https_port, context=context,
                                                     timeout=TIMEOUT)
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                return response.status, response.headers, response.read()
            finally:
                connection.close()
        return await asyncio.to_thread(run)

    async def curl(self, server, *args):
        result = await asyncio.to_thread(
            subprocess.run, ["curl", "--cacert", server.ca_file, "--silent", "--show-error", *args],
            capture_output=True, timeout=TIMEOUT)
        self.assertEqual(result.returncode, 0, result.stderr)
        return result.stdout

    async def assert_slot_error(self, awaitable, condition, error_type):
        with self.assertRaises(IqError) as raised:
            await awaitable
        iq = raised.exception.iq
        self.assertEqual(iq["error"]["condition"], condition, iq)
        self.assertEqual(iq["error"]["type"], error_type, iq)
        return iq

    def raw_request(self, client, attributes):
        """A slot request with exactly these attributes (what a broken client might send)."""
        iq = client.make_iq_get(ito=SERVICE)
        request = ET.Element(f"{{{UPLOAD_NS}}}request", attributes)
        iq.append(request)
        return iq.send(timeout=TIMEOUT)


class UploadAndDownload(UploadTestCase):
    """A real client uploads; anyone with the GET URL downloads the same bytes."""

    async def test_slixmpp_uploads_5_mib_and_clients_download_it(self):
        server = self.start_upload_server("max_file_size = 10485760\n")
        alice = await self.login_uploader(server, *ALICE)
        data = os.urandom(5 * MiB)

        # slixmpp's aiohttp verifies the certificate against the default store, read once:
        # point it at this server's generated certificate.
        os.environ["SSL_CERT_FILE"] = server.ca_file
        aiohttp.connector.TCPConnector._make_ssl_context.cache_clear()
        get_url = await alice["xep_0363"].upload_file(
            "random.bin", input_file=io.BytesIO(data), content_type="application/x-test", timeout=TIMEOUT)
        # The plugin found the service through disco and read its limit from the form.
        self.assertEqual(str(alice["xep_0363"].upload_service), SERVICE)
        self.assertEqual(alice["xep_0363"].max_file_size, 10485760)
        self.assertRegex(get_url, rf"^https://localhost:{server.https_port}/upload/localhost/[0-9a-f]{{32}}/random\.bin$")

        status, headers, body = await self.http(server, "GET", get_url)
        self.assertEqual(status, 200)
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(data).digest())
        self.assertEqual(headers["Content-Type"], "application/x-test")
        self.assertEqual(headers["Content-Length"], str(len(data)))
        self.assertEqual(headers["Accept-Ranges"], "bytes")
        self.assertEqual(headers["Access-Control-Allow-Origin"], "*")
        self.assertIn("immutable", headers["Cache-Control"])
        self.assertTrue(headers["ETag"] and headers["Last-Modified"])
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")

        # curl: the whole file, then a range, then a range past the end.
        whole = await self.curl(server, get_url)
        self.assertEqual(whole, data)
        out = await self.curl(server, "--range", "1000-1999", "--dump-header", "-", get_url)
        head, _, part = out.partition(b"\r\n\r\n")
        self.assertRegex(head.split(b"\r\n")[0], rb"^HTTP/1\.1 206")
        self.assertIn(f"content-range: bytes 1000-1999/{len(data)}".encode(), head.lower())
        self.assertEqual(part, data[1000:2000])
        out = await self.curl(server, "--range", f"{len(data)}-", "--dump-header", "-", "--output", "/dev/null",
                              get_url)
        self.assertRegex(out.split(b"\r\n")[0], rb"^HTTP/1\.1 416")
        self.assertIn(f"content-range: bytes */{len(data)}".encode(), out.lower())

        # The last 10 bytes; HEAD; a conditional GET; a CORS preflight.
        status, headers, body = await self.http(server, "GET", get_url, headers={"Range": "bytes=-10"})
        self.assertEqual((status, body), (206, data[-10:]))
        status, headers, body = await self.http(server, "HEAD", get_url)
        self.assertEqual((status, body, headers["Content-Length"]), (200, b"", str(len(data))))
        etag = headers["ETag"]
        status, _, body = await self.http(server, "GET", get_url, headers={"If-None-Match": etag})
        self.assertEqual((status, body), (304, b""))
        status, headers, _ = await self.http(server, "OPTIONS", get_url, headers={
            "Origin": "https://web.example", "Access-Control-Request-Method": "PUT"})
        self.assertEqual(status, 204)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "*")
        self.assertIn("PUT", headers["Access-Control-Allow-Methods"])
        self.assertIn("Content-Type", headers["Access-Control-Allow-Headers"])

        # Only the stored file and its description remain.
        self.assertEqual([name.split(".")[1] for name in self.uploads(server)], ["data", "meta"])

    async def test_stored_files_and_slots_survive_a_restart(self):
        server = self.start_upload_server()
        alice = await self.login_uploader(server, *ALICE)
        put_url, get_url = await self.slot(alice, "notes ü.txt", 5, "text/plain")
        self.assertIn("/notes%20%C3%BC.txt", get_url)
        self.assertEqual((await self.http(server, "PUT", put_url, b"hello", {"Content-Type": "text/plain"}))[0], 201)
        unused_put, unused_get = await self.slot(alice, "later.txt", 3, "text/plain")
        await alice.close()

        await asyncio.to_thread(server.stop)
        # Leftovers of a crash: an upload cut short, a description whose data is gone.
        store = os.path.join(server.data_dir, "uploads", "localhost")
        for leftover in ("0" * 32 + ".part", "1" * 32 + ".meta"):
            with open(os.path.join(store, leftover), "w") as f:
                f.write("owner=alice@localhost\n")
        kept = self.uploads(server)
        server.start()
        # A new process, a new log, and (port 0) a new port: start() read it.
        self.assertEqual(self.uploads(server), [name for name in kept if not name.startswith(("0" * 32, "1" * 32))])
        path = urllib.parse.urlsplit(get_url).path
        status, headers, body = await self.http(server, "GET", path)
        self.assertEqual((status, body, headers["Content-Type"]), (200, b"hello", "text/plain"))
        # The secret persisted in the data directory, so a slot signed before still works.
        parts = urllib.parse.urlsplit(unused_put)
        self.assertEqual((await self.http(server, "PUT", f"{parts.path}?{parts.query}", b"abc"))[0], 201)
        self.assertEqual((await self.http(server, "GET", urllib.parse.urlsplit(unused_get).path))[2], b"abc")


class SlotRefusals(UploadTestCase):
    """Slot requests the service must refuse, with XEP-0363 §5 errors."""

    async def test_too_large_quota_and_bad_requests(self):
        server = self.start_upload_server("max_file_size = 3145728\nquota_per_user = 4194304\n")
        alice = await self.login_uploader(server, *ALICE)
        bob = await self.login_uploader(server, *BOB)

        iq = await self.assert_slot_error(self.slot(alice, "big.bin", 3 * MiB + 1), "not-acceptable", "modify")
        limit = iq.xml.find(f".//{{{UPLOAD_NS}}}file-too-large/{{{UPLOAD_NS}}}max-file-size")
        self.assertIsNotNone(limit, iq)
        self.assertEqual(limit.text, str(3 * MiB))
        # The plugin learns the limit through disco and refuses before asking.
        with self.assertRaises(FileTooBig):
            await alice["xep_0363"].upload_file("big.bin", input_file=io.BytesIO(b"x" * (3 * MiB + 1)),
                                                timeout=TIMEOUT)

        await self.assert_slot_error(self.raw_request(alice, {"size": "10"}), "bad-request", "modify")
        await self.assert_slot_error(self.raw_request(alice, {"filename": "a.txt"}), "bad-request", "modify")
        await self.assert_slot_error(self.raw_request(alice, {"filename": "a.txt", "size": "ten"}),
                                     "bad-request", "modify")
        await self.assert_slot_error(self.raw_request(alice, {"filename": "../a.txt", "size": "1"}),
                                     "bad-request", "modify")

        # Quota: 3 MiB stored (uploaded with curl, which sends "Expect: 100-continue"), so 2
        # more MiB do not fit for alice; bob has his own quota.
        put_url, get_url = await self.slot(alice, "three.bin", 3 * MiB)
        with tempfile.NamedTemporaryFile() as f:
            data = os.urandom(3 * MiB)
            f.write(data)
            f.flush()
            out = await self.curl(server, "--upload-file", f.name, "--write-out", "%{http_code}",
                                  "--output", "/dev/null", put_url)
        self.assertEqual(out, b"201")
        self.assertEqual((await self.http(server, "GET", get_url))[2], data)
        await self.assert_slot_error(self.slot(alice, "two.bin", 2 * MiB), "resource-constraint", "wait")
        await self.slot(bob, "two.bin", 2 * MiB)
        await self.slot(alice, "small.bin", MiB)  # what still fits is granted


class SlotPolicy(UploadTestCase):
    """What the config says about slots: the types accepted, and a header for a proxy."""

    async def test_content_type_allow_list_and_authorization_header(self):
        server = self.start_upload_server('allowed_content_types = ["image/*", "video/mp4"]\n'
                                          'put_authorization = "Basic dXBsb2FkOnNlY3JldA=="\n')
        alice = await self.login_uploader(server, *ALICE)
        await self.assert_slot_error(self.slot(alice, "notes.txt", 10, "text/plain"), "not-acceptable", "modify")
        await self.assert_slot_error(self.slot(alice, "clip.webm", 10, "video/webm"), "not-acceptable", "modify")
        reply = await self.raw_request(alice, {"filename": "cat.png", "size": "10", "content-type": "image/png"})
        header = reply.xml.find(f"{{{UPLOAD_NS}}}slot/{{{UPLOAD_NS}}}put/{{{UPLOAD_NS}}}header")
        self.assertEqual((header.get("name"), header.text), ("Authorization", "Basic dXBsb2FkOnNlY3JldA=="))
        await self.slot(alice, "clip.mp4", 10, "video/mp4")


class HttpRefusals(UploadTestCase):
    """Bad PUTs and GETs get the right status and leave nothing on disk."""

    async def test_tokens_sizes_paths_and_conflicts(self):
        server = self.start_upload_server()
        alice = await self.login_uploader(server, *ALICE)
        put_url, get_url = await self.slot(alice, "a.txt", 4, "text/plain")
        parts = urllib.parse.urlsplit(put_url)
        query = urllib.parse.parse_qs(parts.query)
        path = parts.path

        def with_query(**changes):
            q = {k: v[0] for k, v in query.items()}
            q.update(changes)
            return path + "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)

        forged = "0" * 64
        self.assertEqual((await self.http(server, "PUT", with_query(token=forged), b"abcd"))[0], 403)
        # The token covers size, owner and type: changing any of them voids it.
        self.assertEqual((await self.http(server, "PUT", with_query(size="5"), b"abcde"))[0], 403)
        self.assertEqual((await self.http(server, "PUT", with_query(owner="bob@localhost"), b"abcd"))[0], 403)
        self.assertEqual((await self.http(server, "PUT", path, b"abcd"))[0], 403)
        # The body must be exactly the slot's size.
        self.assertEqual((await self.http(server, "PUT", with_query(), b"abcde"))[0], 413)
        self.assertEqual((await self.http(server, "PUT", with_query(), b"abc"))[0], 400)
        # Paths that try to leave the upload directory.
        self.assertEqual((await self.http(server, "PUT", "/upload/localhost/../xmppd.toml", b"x"))[0], 400)
        self.assertEqual((await self.http(server, "PUT", path.rsplit("/", 1)[0] + "/%2e%2e?" + parts.query,
                                          b"abcd"))[0], 400)
        self.assertEqual((await self.http(server, "GET", "/upload/localhost/%2e%2e/%2e%2e/xmppd.toml"))[0], 404)
        self.assertEqual((await self.http(server, "GET", "/../xmppd.toml"))[0], 404)
        # Not uploaded yet.
        self.assertEqual((await self.http(server, "GET", get_url))[0], 404)
        self.assertEqual(self.uploads(server), [])

        self.assertEqual((await self.http(server, "PUT", put_url, b"abcd"))[0], 201)
        self.assertEqual((await self.http(server, "PUT", put_url, b"wxyz"))[0], 409)
        self.assertEqual((await self.http(server, "GET", get_url))[2], b"abcd")
        self.assertEqual((await self.http(server, "GET", get_url[:-5] + "b.txt"))[0], 404)
        self.assertEqual((await self.http(server, "DELETE", get_url))[0], 405)

        self.assertEqual(len(self.uploads(server)), 2)  # a.txt's data and description only

    async def test_expired_slot(self):
        server = self.start_upload_server("slot_lifetime = 1\n")
        alice = await self.login_uploader(server, *ALICE)
        put_url, get_url = await self.slot(alice, "late.txt", 1)
        # slot_lifetime = 1: this waits for the clock, not for an event.
        await asyncio.sleep(2.1)
        status, _, body = await self.http(server, "PUT", put_url, b"z")
        self.assertEqual(status, 403, body)
        self.assertIn(b"expired", body)
        self.assertEqual(self.uploads(server), [])

    async def test_interrupted_upload_leaves_nothing(self):
        server = self.start_upload_server("quota_per_user = 1048576\n")
        alice = await self.login_uploader(server, *ALICE)
        put_url, get_url = await self.slot(alice, "cut.bin", MiB)
        parts = urllib.parse.urlsplit(put_url)
        since = server.log.mark()

        def send_half():
            context = ssl.create_default_context(cafile=server.ca_file)
            connection = http.client.HTTPSConnection("localhost", server.https_port, context=context,
                                                     timeout=TIMEOUT)
            connection.putrequest("PUT", f"{parts.path}?{parts.query}")
            connection.putheader("Content-Length", str(MiB))
            connection.endheaders()
            connection.send(b"x" * (MiB // 2))
            connection.close()
        await asyncio.to_thread(send_half)
        await self.log_line(server, r"upload of [0-9a-f]{32} by alice@localhost interrupted", since)
        self.assertEqual(self.uploads(server), [])
        self.assertEqual((await self.http(server, "GET", get_url))[0], 404)
        # The reservation was released: the whole quota is available again, and the slot works.
        await self.slot(alice, "again.bin", MiB)
        self.assertEqual((await self.http(server, "PUT", put_url, b"y" * MiB))[0], 201)


class Expiry(UploadTestCase):

    async def test_files_are_removed_after_expire_after(self):
        server = self.start_upload_server("expire_after = 2\n")
        alice = await self.login_uploader(server, *ALICE)
        put_url, get_url = await self.slot(alice, "short-lived.txt", 3)
        self.assertEqual((await self.http(server, "PUT", put_url, b"bye"))[0], 201)
        self.assertEqual((await self.http(server, "GET", get_url))[2], b"bye")
        slot_id = urllib.parse.urlsplit(get_url).path.split("/")[3]  # /upload/<host>/<id>/<name>
        await self.log_line(server, rf"http_upload: removed expired file {slot_id}")
        self.assertEqual((await self.http(server, "GET", get_url))[0], 404)
        self.assertEqual(self.uploads(server), [])


if __name__ == "__main__":
    unittest.main()

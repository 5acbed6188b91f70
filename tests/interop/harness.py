"""Runs the real xmppd binary for interoperability tests.

Each XmppServer lives in a temporary directory of its own (config, data, generated
certificate), listens on OS-chosen loopback ports, and is stopped with SIGTERM, which must
end it cleanly. Everything the server logs is kept, so a test can wait for a log line
(no sleeping) and a failing test can show the whole log.

Binaries come from the environment (XMPPD_BINARY, XMPPCTL_BINARY, STROPHE_CLIENT), as
CTest sets them; otherwise from the build directory XMPPD_BUILD_DIR (default: build/ in the
source tree).
"""

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

_SOURCE_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_BUILD_DIR = os.environ.get("XMPPD_BUILD_DIR") or os.path.join(_SOURCE_DIR, "build")

# Upper bound for anything awaited in these tests: a loopback login takes milliseconds,
# so reaching this means something hangs.
TIMEOUT = 15.0

DOMAIN = "localhost"
ALL_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN")


def binary(env_name, default_relative):
    """Path of a binary under test; a missing one is an error, never a skip."""
    path = os.environ.get(env_name) or os.path.join(_BUILD_DIR, default_relative)
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"{env_name}: no executable at {path} (build it, or set {env_name})")
    return path


def xmppd_binary():
    return binary("XMPPD_BINARY", "xmppd/xmppd")


def xmppctl_binary():
    return binary("XMPPCTL_BINARY", "tools/xmppctl/xmppctl")


def strophe_client_binary():
    return binary("STROPHE_CLIENT", "tests/interop/strophe_client")


class LineCollector:
    """Collects the lines of a pipe on a thread and lets callers wait for a pattern."""

    def __init__(self, stream, name):
        self._stream = stream
        self._lines = []
        self._closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, name=name, daemon=True)
        self._thread.start()

    def _read(self):
        for raw in iter(self._stream.readline, b""):
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        self._stream.close()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def lines(self):
        with self._cond:
            return list(self._lines)

    def mark(self):
        """Index of the next line; pass it as `since` to wait only for later lines."""
        with self._cond:
            return len(self._lines)

    def wait_for(self, pattern, timeout=TIMEOUT, since=0):
        """Returns the re.Match of the first line at or after `since` matching `pattern`.

        Raises AssertionError (so the test fails, with the lines seen) on timeout or when
        the stream ends without such a line.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        checked = since
        with self._cond:
            while True:
                for i in range(checked, len(self._lines)):
                    match = regex.search(self._lines[i])
                    if match:
                        return match
                checked = max(checked, len(self._lines))
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    why = "output ended" if self._closed else f"{timeout}s passed"
                    raise AssertionError(
                        f"no line matching /{pattern}/ ({why}); lines:\n" + "\n".join(self._lines))
                self._cond.wait(remaining)

    def matching(self, pattern, since=0):
        """All lines at or after `since` matching `pattern` (no waiting)."""
        regex = re.compile(pattern)
        return [line for line in self.lines()[since:] if regex.search(line)]

    def join(self, timeout=TIMEOUT):
        self._thread.join(timeout)


class XmppServer:
    """One xmppd process with its own temp dir and config.

    mechanisms: the [auth] mechanisms list; c2s_toml: extra keys for the [c2s] table;
    extra_toml: appended at the end (must start with its own table header);
    open_file_limit: the server process's RLIMIT_NOFILE, if given.
    """

    def __init__(self, mechanisms=ALL_MECHANISMS, c2s_toml="", extra_toml="", open_file_limit=None,
                 http_toml=None):
        self.open_file_limit = open_file_limit
        self.dir = tempfile.mkdtemp(prefix="xmppd-interop-")
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "xmppd.toml")
        self.ca_file = os.path.join(self.data_dir, "certs", f"{DOMAIN}.crt")
        self.process = None
        self.log = None
        self.starttls_port = None
        self.direct_tls_port = None
        self.http_port = None
        self.https_port = None
        # http_toml (keys of [http]; None: no HTTP): a plain and a TLS listener, the web chat
        # off unless the keys turn it on.
        self.serves_http = http_toml is not None
        http = ""
        if self.serves_http:
            keys = http_toml if "web_client" in http_toml else http_toml + "\nweb_client = false"
            http = f"""
[http]
{keys}
  [[http.listen]]
  address = "127.0.0.1"
  port = 0

  [[http.listen]]
  address = "127.0.0.1"
  port = 0
  tls = true
"""
        mechs = ", ".join(f'"{m}"' for m in mechanisms)
        with open(self.config_path, "w") as f:
            f.write(f"""\
[server]
data_dir = "{self.data_dir}"
threads = 2

[log]
level = "debug"

[c2s]
{"" if "require_encryption" in c2s_toml else "require_encryption = true"}
{c2s_toml}
  [[c2s.listen]]
  address = "127.0.0.1"
  port = 0
  tls = "starttls"

  [[c2s.listen]]
  address = "127.0.0.1"
  port = 0
  tls = "direct"
{http}
[auth]
mechanisms = [{mechs}]

[hosts."{DOMAIN}"]

{extra_toml}
""")

    def start(self):
        def limit_open_files():  # runs in the child, before exec
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.open_file_limit, hard))

        self.process = subprocess.Popen(
            [xmppd_binary(), "--config", self.config_path],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            preexec_fn=limit_open_files if self.open_file_limit else None)
        self.log = LineCollector(self.process.stdout, "xmppd-log")
        # The real ports are in the log (port = 0 in the config): no race for a free port.
        port = r"c2s listening on 127\.0\.0\.1:(\d+) "
        self.starttls_port = int(self.log.wait_for(port + r"\(STARTTLS\)").group(1))
        self.direct_tls_port = int(self.log.wait_for(port + r"\(direct TLS\)").group(1))
        if self.serves_http:
            http = r"http listening on 127\.0\.0\.1:(\d+) "
            self.http_port = int(self.log.wait_for(http + r"\(HTTP\)").group(1))
            self.https_port = int(self.log.wait_for(http + r"\(HTTPS\)").group(1))
        self.log.wait_for(r"xmppd ready")
        if not os.path.isfile(self.ca_file):
            raise AssertionError(f"no generated certificate at {self.ca_file}")
        return self

    def port(self, mode):
        """The listener for "starttls" or "directtls"."""
        return {"starttls": self.starttls_port, "directtls": self.direct_tls_port}[mode]

    def add_user(self, jid, password):
        result = subprocess.run(
            [xmppctl_binary(), "--config", self.config_path, "adduser", jid, "--password", password],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
        if result.returncode != 0:
            raise AssertionError(f"xmppctl adduser {jid} exited {result.returncode}:\n"
                                 f"{result.stdout}{result.stderr}")

    def auth_mechanism_of(self, jid, since=0, timeout=TIMEOUT):
        """The SASL mechanism the server says `jid` (bare) authenticated with."""
        match = self.log.wait_for(rf"authenticated as {re.escape(jid)} \(([A-Z0-9-]+)\)",
                                  timeout=timeout, since=since)
        return match.group(1)

    def stop(self):
        """SIGTERM; the server must exit 0 within the timeout."""
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"xmppd did not exit within {TIMEOUT}s of SIGTERM")
        finally:
            self.log.join()
        if code != 0:
            raise AssertionError(f"xmppd exited with {code} after SIGTERM (expected 0)")

    def kill(self):
        """Last resort for cleanup paths: never leave a server running."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log_text(self):
        return "\n".join(self.log.lines()) if self.log else "(not started)"

    def remove_dir(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerTestCase(unittest.TestCase):
    """Base for tests that run xmppd: servers are stopped (and must exit 0) after each
    test, and the log of every server of a failed test is printed."""

    def run(self, result=None):
        self._servers = []
        if result is None:
            result = self.defaultTestResult()
        problems = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            if len(result.failures) + len(result.errors) > problems:
                for server in self._servers:
                    sys.stderr.write(f"\n----- xmppd log ({server.config_path}) -----\n"
                                     f"{server.log_text()}\n----- end of xmppd log -----\n")
            for server in self._servers:
                server.kill()
                server.remove_dir()

    def start_server(self, **kwargs):
        server = XmppServer(**kwargs)
        self._servers.append(server)
        server.start()
        self.addCleanup(server.stop)  # runs even if the test failed: a clean exit is asserted
        return server

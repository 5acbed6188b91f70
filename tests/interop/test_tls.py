"""TLS policy as OpenSSL's own client sees it, and certificate problems reported at start.

`openssl s_client` is told to offer old protocols and weak ciphers (SECLEVEL=0), so a
refusal comes from the server, not from the client's defaults.
"""

import os
import shutil
import subprocess
import unittest

import harness

TIMEOUT = harness.TIMEOUT


def s_client(port, *options):
    """Runs a TLS handshake against the direct-TLS port; returns (succeeded, output)."""
    result = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", harness.DOMAIN, *options],
        input=b"", capture_output=True, timeout=TIMEOUT)
    output = (result.stdout + result.stderr).decode(errors="replace")
    handshake_done = result.returncode == 0 and "Cipher is (NONE)" not in output and "New, " in output
    return handshake_done, output


class ProtocolsAndCiphers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.XmppServer().start()
        cls.port = cls.server.port("directtls")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.remove_dir()

    def test_tls_1_3_and_1_2_with_modern_ciphers_work(self):
        ok, output = s_client(self.port, "-tls1_3")
        self.assertTrue(ok, output)
        self.assertIn("TLSv1.3", output)
        ok, output = s_client(self.port, "-tls1_2")
        self.assertTrue(ok, output)
        self.assertRegex(output, r"Cipher is ECDHE-\w+-(AES\d+-GCM-SHA\d+|CHACHA20-POLY1305)")

    def test_tls_1_0_and_1_1_are_refused(self):
        for version in ("-tls1", "-tls1_1"):
            ok, output = s_client(self.port, version, "-cipher", "DEFAULT:@SECLEVEL=0")
            self.assertFalse(ok, f"{version} was accepted:\n{output}")
            self.assertRegex(output, r"(?i)protocol version|alert|wrong version|handshake failure", output)

    def test_weak_ciphers_are_refused(self):
        # No forward secrecy, CBC, 3DES, RC4-era suites: none of them are offered by the server.
        for cipher in ("AES128-SHA", "AES256-SHA256", "DES-CBC3-SHA", "ECDHE-RSA-AES128-SHA", "ECDHE-ECDSA-AES128-SHA"):
            ok, output = s_client(self.port, "-tls1_2", "-cipher", f"{cipher}:@SECLEVEL=0")
            self.assertFalse(ok, f"{cipher} was accepted:\n{output}")


class CertificateProblems(unittest.TestCase):
    """A bad certificate or key stops the server at start, naming the file and the problem."""

    def setUp(self):
        # A working pair to break in different ways: generate it with a first run.
        self.server = harness.XmppServer()
        self.addCleanup(self.server.remove_dir)
        self.server.start()
        self.server.stop()
        certs = os.path.join(self.server.data_dir, "certs")
        self.cert = os.path.join(self.server.dir, "server.crt")
        self.key = os.path.join(self.server.dir, "server.key")
        shutil.copy(os.path.join(certs, f"{harness.DOMAIN}.crt"), self.cert)
        shutil.copy(os.path.join(certs, f"{harness.DOMAIN}.key"), self.key)
        os.chmod(self.key, 0o600)

    def use(self, cert, key):
        with open(self.server.config_path) as f:
            text = f.read()
        text = text.replace(f'[hosts."{harness.DOMAIN}"]\n',
                            f'[hosts."{harness.DOMAIN}"]\ncertificate = "{cert}"\nkey = "{key}"\n')
        with open(self.server.config_path, "w") as f:
            f.write(text)

    def run_server(self, user=None):
        command = [harness.xmppd_binary(), "--config", self.server.config_path]
        if user is not None:
            command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + command
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT)
        log = harness.LineCollector(process.stdout, "xmppd-log")
        match = log.wait_for(r"xmppd ready|xmppd: ", timeout=TIMEOUT)
        if "xmppd ready" in match.group(0):
            process.terminate()
        process.wait(timeout=TIMEOUT)
        return process.returncode, "\n".join(log.lines())

    def test_missing_certificate(self):
        self.use(self.cert + ".missing", self.key)
        code, output = self.run_server()
        self.assertNotEqual(code, 0)
        self.assertIn(f"certificate {self.cert}.missing: no such file", output)

    def test_key_that_does_not_match(self):
        other = harness.XmppServer()
        self.addCleanup(other.remove_dir)
        other.start()
        other.stop()
        self.use(self.cert, os.path.join(other.data_dir, "certs", f"{harness.DOMAIN}.key"))
        code, output = self.run_server()
        self.assertNotEqual(code, 0)
        self.assertIn(f"does not match certificate {self.cert}", output)

    def test_key_readable_by_others_is_warned_about(self):
        os.chmod(self.key, 0o644)
        self.use(self.cert, self.key)
        code, output = self.run_server()
        self.assertEqual(code, 0, output)
        self.assertIn(f"key {self.key} is readable by other users; restrict it: chmod 600", output)

    def test_unreadable_key(self):
        os.chmod(self.key, 0o600)
        self.use(self.cert, self.key)
        if os.geteuid() == 0:
            # root reads anything: run the server as nobody, who may use the data dir but not the key.
            nobody = 65534
            for root, dirs, files in os.walk(self.server.dir):
                for name in dirs + files:
                    path = os.path.join(root, name)
                    if path != self.key:
                        os.chown(path, nobody, nobody)
            os.chown(self.server.dir, nobody, nobody)
            os.chmod(self.server.dir, 0o755)
            code, output = self.run_server(user=nobody)
        else:
            os.chmod(self.key, 0o000)
            code, output = self.run_server()
        self.assertNotEqual(code, 0, output)
        self.assertIn(f"cannot read key {self.key}: Permission denied", output)


if __name__ == "__main__":
    unittest.main()

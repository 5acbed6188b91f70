"""Out-of-tree modules: the server loads examples/hello from [server] module_files and
serves its IQ; a module built for another API version stops the server at startup.

    XMPPD_BUILD_DIR=... /usr/bin/python3 -m unittest -v module_loading_test   (from tests/integration/)

The modules come from XMPPD_HELLO_MODULE and XMPPD_HELLO_WRONG_API_MODULE (as CTest sets
them), otherwise from the build directory.
"""

import os
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))

import harness  # noqa: E402
from harness import DOMAIN, TIMEOUT  # noqa: E402
from test_slixmpp import ALICE, SlixmppTestCase  # noqa: E402

HELLO = "urn:example:hello"


def module_path(env_name, name):
    path = os.environ.get(env_name) or os.path.join(harness._BUILD_DIR, "examples", "hello", name)
    if not os.path.isfile(path):
        raise RuntimeError(f"{env_name}: no module at {path} (build the hello targets, or set {env_name})")
    return path


def with_module_file(server, path):
    """Adds `path` to [server] module_files of a server's generated config."""
    with open(server.config_path) as f:
        text = f.read()
    text = text.replace("[server]\n", f'[server]\nmodule_files = ["{path}"]\n', 1)
    with open(server.config_path, "w") as f:
        f.write(text)


class HelloModule(SlixmppTestCase):
    """The example module, loaded from its shared object, answers through the real server."""

    async def test_greeting(self):
        extra = 'modules = ["disco", "hello"]\n\n[modules.hello]\ngreeting = "Howdy"\n'
        server = harness.XmppServer(extra_toml=extra)
        self._servers.append(server)
        with_module_file(server, module_path("XMPPD_HELLO_MODULE", "libhello.so"))
        server.start()
        self.addCleanup(server.stop)
        server.log.wait_for(r"loaded module hello from .*libhello\.so")
        server.add_user(*ALICE)

        alice = await self.login(server, "alice@localhost/one", ALICE[1])
        iq = alice.make_iq_get(ito=DOMAIN)
        iq.append(ET.Element(f"{{{HELLO}}}greet"))
        reply = await iq.send(timeout=TIMEOUT)
        greeting = reply.xml.find(f"{{{HELLO}}}greeting")
        self.assertIsNotNone(greeting, reply)
        self.assertEqual(greeting.text, "Howdy, alice@localhost!")
        await alice.close()


class WrongApiVersion(unittest.TestCase):
    """A module built against other headers is refused before the server serves anything."""

    def test_refused_with_a_clear_message(self):
        path = module_path("XMPPD_HELLO_WRONG_API_MODULE", "libhello_wrong_api.so")
        server = harness.XmppServer(extra_toml='modules = ["disco", "hello"]\n')
        self.addCleanup(server.remove_dir)
        with_module_file(server, path)
        result = subprocess.run([harness.xmppd_binary(), "--config", server.config_path],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
        output = result.stdout + result.stderr
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn(path, output)
        self.assertRegex(output, r"module API version 999\b.*\bversion 3\b")
        self.assertNotIn("xmppd ready", output)


if __name__ == "__main__":
    unittest.main()

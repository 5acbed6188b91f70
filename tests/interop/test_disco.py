"""XEP-0030 service discovery, XEP-0115 server capabilities and XEP-0157 contact addresses
(modules/disco) with slixmpp against the real xmppd.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_disco
"""

import base64
import hashlib
import unittest

from slixmpp.exceptions import IqError

from harness import TIMEOUT
from test_slixmpp import ALICE, Client, SlixmppTestCase

MODULES = '''modules = ["disco", "ping", "mam", "pep"]

[modules.disco]
abuse_addresses = ["mailto:abuse@example.org"]
status_addresses = ["https://status.example.org"]
support_addresses = ["xmpp:support@example.org", "mailto:help@example.org"]
'''


def verification_string(info):
    """XEP-0115 §5.1, written out here on its own: identities, features, forms."""
    identities = sorted(f"{c}/{t}/{lang or ''}/{name or ''}" for c, t, lang, name in info["identities"])
    s = "".join(i + "<" for i in identities) + "".join(f + "<" for f in sorted(info["features"]))
    for form in sorted(info.xml.findall("{jabber:x:data}x"),
                       key=lambda f: f.find("{jabber:x:data}field[@var='FORM_TYPE']/{jabber:x:data}value").text):
        fields = {f.get("var"): sorted(v.text or "" for v in f.findall("{jabber:x:data}value"))
                  for f in form.findall("{jabber:x:data}field")}
        s += fields.pop("FORM_TYPE")[0] + "<"
        for var in sorted(fields):
            s += var + "<" + "".join(v + "<" for v in fields[var])
    return base64.b64encode(hashlib.sha1(s.encode()).digest()).decode()


class Discovery(SlixmppTestCase):

    async def test_contact_addresses_and_caps_hash(self):
        server = self.start_server_with_users(extra_toml=MODULES)
        client = Client(ALICE[0] + "/desk", ALICE[1], "SCRAM-SHA-256", server.ca_file)
        client.register_plugin("xep_0030")
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome())

        info = (await client["xep_0030"].get_info(jid="localhost", timeout=TIMEOUT))["disco_info"]
        form = info.xml.find("{jabber:x:data}x")
        fields = {f.get("var"): [v.text for v in f.findall("{jabber:x:data}value")]
                  for f in form.findall("{jabber:x:data}field")}
        self.assertEqual(fields["FORM_TYPE"], ["http://jabber.org/network/serverinfo"])
        self.assertEqual(fields["status-addresses"], ["https://status.example.org"])
        self.assertEqual(sorted(fields["support-addresses"]), ["mailto:help@example.org", "xmpp:support@example.org"])
        self.assertEqual(fields["abuse-addresses"], ["mailto:abuse@example.org"])

        # The server's caps 'ver' is the hash of what disco#info says: it answers for the node
        # named by the hash computed here (XEP-0115 §6.2), and for no other.
        ver = verification_string(info)
        node = "https://github.com/xmppd/xmppd#" + ver
        same = (await client["xep_0030"].get_info(jid="localhost", node=node, timeout=TIMEOUT))["disco_info"]
        self.assertEqual(sorted(same["features"]), sorted(info["features"]))
        with self.assertRaises(IqError) as other:
            await client["xep_0030"].get_info(jid="localhost", node=node + "x", timeout=TIMEOUT)
        self.assertEqual(other.exception.iq["error"]["condition"], "item-not-found")

        # One's own account: disco#info with the account identity and what modules serve there.
        own = (await client["xep_0030"].get_info(jid="alice@localhost", timeout=TIMEOUT))["disco_info"]
        self.assertIn(("account", "registered", None, None), own["identities"])
        for feature in ("http://jabber.org/protocol/disco#info", "http://jabber.org/protocol/disco#items",
                        "urn:xmpp:mam:2"):
            self.assertIn(feature, own["features"])


if __name__ == "__main__":
    unittest.main()

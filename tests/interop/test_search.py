"""The user directory (XEP-0055, modules/search) against the real xmppd, with slixmpp's
xep_0055 and xep_0004 stanzas: accounts list themselves by registering with the directory,
searches by name, nickname or e-mail (form and legacy fields) find only those, within the
result limit and the rate limit; a host may list everyone by default.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_search
"""

import asyncio
import subprocess
import unittest
import xml.etree.ElementTree as ET

import harness

from slixmpp.exceptions import IqError

from harness import TIMEOUT
from test_roster import ALICE, BOB, CAROL, ImTestCase

DIRECTORY = "search.localhost"
SEARCH = "jabber:iq:search"
REGISTER = "jabber:iq:register"
DATA = "jabber:x:data"
PLUGINS = ("xep_0030", "xep_0004", "xep_0055", "xep_0077")
PEOPLE = {  # account: (given, family, nickname, e-mail)
    ALICE: ("Alice", "Smith", "ally", "alice@example.org"),
    BOB: ("Robert", "Jones", "bob", "bob@example.org"),
    CAROL: ("Carol", "Smith", "caz", "carol@example.net"),
}


class DirectoryTestCase(ImTestCase):
    extra_toml = ""

    async def asyncSetUp(self):
        self.server = self.start_server(
            extra_toml='modules = ["roster", "presence", "disco", "vcard", "search"]\n\n[modules.search]\n'
                       + self.extra_toml)
        for user in (ALICE, BOB, CAROL):
            self.server.add_user(*user)
        self.clients = {}
        for account, (given, family, nick, email) in PEOPLE.items():
            client = await self.login(account, "desk", plugins=PLUGINS)
            iq = client.make_iq_set()
            vcard = ET.SubElement(iq.xml, "{vcard-temp}vCard")
            n = ET.SubElement(vcard, "{vcard-temp}N")
            ET.SubElement(n, "{vcard-temp}GIVEN").text = given
            ET.SubElement(n, "{vcard-temp}FAMILY").text = family
            ET.SubElement(vcard, "{vcard-temp}NICKNAME").text = nick
            ET.SubElement(ET.SubElement(vcard, "{vcard-temp}EMAIL"), "{vcard-temp}USERID").text = email
            await iq.send(timeout=TIMEOUT)
            self.clients[account] = client

    async def listing(self, client, remove=False):
        iq = client.make_iq_set(ito=DIRECTORY)
        query = ET.SubElement(iq.xml, f"{{{REGISTER}}}query")
        if remove:
            ET.SubElement(query, f"{{{REGISTER}}}remove")
        await iq.send(timeout=TIMEOUT)

    async def registered(self, client):
        iq = client.make_iq_get(ito=DIRECTORY)
        ET.SubElement(iq.xml, f"{{{REGISTER}}}query")
        reply = await iq.send(timeout=TIMEOUT)
        return reply.xml.find(f"{{{REGISTER}}}query/{{{REGISTER}}}registered") is not None

    async def search_form(self, client, **fields):
        """A search with the XEP-0004 form; the JIDs found."""
        iq = client.make_iq_set(ito=DIRECTORY)
        form = client["xep_0004"].make_form(ftype="submit")
        form.add_field(var="FORM_TYPE", ftype="hidden", value=SEARCH)
        for var, value in fields.items():
            form.add_field(var=var, value=value)
        iq["search"].append(form)
        reply = await iq.send(timeout=TIMEOUT)
        x = reply.xml.find(f"{{{SEARCH}}}query/{{{DATA}}}x")
        self.assertEqual(x.get("type"), "result")
        found = []
        for item in x.findall(f"{{{DATA}}}item"):
            values = {f.get("var"): f.findtext(f"{{{DATA}}}value") for f in item.findall(f"{{{DATA}}}field")}
            found.append(values["jid"])
        return sorted(found)

    async def search_legacy(self, client, **fields):
        iq = client.make_iq_set(ito=DIRECTORY)
        query = ET.SubElement(iq.xml, f"{{{SEARCH}}}query")
        for name, value in fields.items():
            ET.SubElement(query, f"{{{SEARCH}}}{name}").text = value
        reply = await iq.send(timeout=TIMEOUT)
        return [(i.get("jid"), i.findtext(f"{{{SEARCH}}}nick"))
                for i in reply.xml.findall(f"{{{SEARCH}}}query/{{{SEARCH}}}item")]

    async def refused(self, awaitable):
        with self.assertRaises(IqError) as caught:
            await awaitable
        return caught.exception.iq["error"]["condition"]


class OptIn(DirectoryTestCase):
    extra_toml = "max_searches_per_minute = 7\nmax_results = 1\n"

    async def test_only_those_who_chose_are_found_within_the_limits(self):
        alice, bob, carol = (self.clients[a] for a in (ALICE, BOB, CAROL))
        info = await carol["xep_0030"].get_info(jid=DIRECTORY, timeout=TIMEOUT)
        self.assertIn(("directory", "user", None, "User directory"), info["disco_info"]["identities"])
        self.assertIn(SEARCH, info["disco_info"]["features"])
        # The form to fill in.
        iq = carol.make_iq_get(ito=DIRECTORY)
        iq.enable("search")
        form = (await iq.send(timeout=TIMEOUT)).xml.find(f"{{{SEARCH}}}query/{{{DATA}}}x")
        self.assertEqual(sorted(f.get("var") for f in form.findall(f"{{{DATA}}}field")),
                         ["FORM_TYPE", "email", "first", "last", "nick"])

        # Nobody chose yet: nobody is found (searches: 1).
        self.assertEqual(await self.search_form(carol, last="smith"), [])
        await self.listing(alice)
        await self.listing(bob)
        self.assertTrue(await self.registered(bob))
        self.assertFalse(await self.registered(carol))
        # Alice Smith is found, Carol Smith (not listed) is not (2); by nickname, legacy (3).
        self.assertEqual(await self.search_form(carol, last="SMITH"), ["alice@localhost"])
        self.assertEqual(await self.search_legacy(carol, nick="bo"), [("bob@localhost", "bob")])
        # Two fields must both match (4); the result limit is 1 of the two at example.org (5).
        self.assertEqual(await self.search_form(carol, first="rob", email="example.org"), ["bob@localhost"])
        self.assertEqual(len(await self.search_form(carol, email="example.org")), 1)
        # An empty search is refused (and not counted).
        self.assertEqual(await self.refused(self.search_form(carol)), "not-acceptable")
        # Alice unlists herself (6).
        await self.listing(alice, remove=True)
        self.assertFalse(await self.registered(alice))
        self.assertEqual(await self.search_form(carol, last="smith"), [])
        # Seven searches a minute; the eighth is refused, for Carol only.
        self.assertEqual(await self.search_legacy(carol, nick="bob"), [("bob@localhost", "bob")])
        self.assertEqual(await self.refused(self.search_legacy(carol, nick="bob")), "resource-constraint")
        self.assertEqual(await self.search_legacy(alice, nick="bob"), [("bob@localhost", "bob")])


class ListedByDefault(DirectoryTestCase):
    extra_toml = "listed_by_default = true\n"

    async def test_a_closed_organisation_lists_everyone_who_did_not_opt_out(self):
        alice, carol = self.clients[ALICE], self.clients[CAROL]
        self.assertTrue(await self.registered(carol))
        self.assertEqual(await self.search_form(alice, last="smith"), ["alice@localhost", "carol@localhost"])
        await self.listing(carol, remove=True)
        self.assertEqual(await self.search_form(alice, last="smith"), ["alice@localhost"])


class BadConfig(unittest.TestCase):

    def test_a_bad_domain_or_limit_names_file_line_and_key(self):
        for line_text, message in (('domain = "not a domain@"', "modules.search.domain: not a domain name"),
                                   ("max_results = 0", "modules.search.max_results:")):
            server = harness.XmppServer(extra_toml=f'modules = ["search"]\n\n[modules.search]\n{line_text}\n')
            self.addCleanup(server.remove_dir)
            result = subprocess.run([harness.xmppd_binary(), "--config", server.config_path],
                                    capture_output=True, text=True, timeout=TIMEOUT)
            self.assertNotEqual(result.returncode, 0)
            line = open(server.config_path).read().splitlines().index(line_text) + 1
            self.assertIn(f"xmppd.toml:{line}: {message}", result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()

"""XEP-0050 Ad-Hoc Commands with XEP-0133 administration: slixmpp against the real xmppd
with the adhoc module; admin@localhost is the host's admin.

    XMPPD_BUILD_DIR=... /usr/bin/python3 -m unittest -v test_adhoc     (from tests/interop/)
"""

import asyncio
import unittest

import slixmpp

from harness import DOMAIN, TIMEOUT
from test_slixmpp import ALICE, BOB, Client, SlixmppTestCase

ADMIN = ("admin@localhost", "admin-secret")
CONFIG = 'modules = ["disco", "adhoc"]\nadmins = ["admin@localhost"]\n'  # in [hosts."localhost"]
COMMANDS = "http://jabber.org/protocol/commands"
ADMIN_NODE = "http://jabber.org/protocol/admin#"


class AdhocTestCase(SlixmppTestCase):

    def start_admin_server(self):
        server = self.start_server(extra_toml=CONFIG)
        for user in (ADMIN, ALICE, BOB):
            server.add_user(*user)
        return server

    async def connect(self, server, jid, password):
        client = await self.login(server, jid, password)
        for plugin in ("xep_0004", "xep_0030", "xep_0050"):
            client.register_plugin(plugin)
        client.headlines = asyncio.Queue()
        client.add_event_handler(
            "message", lambda m: client.headlines.put_nowait(m) if m["type"] == "headline" else None)
        return client

    async def execute(self, client, command):
        """First stage: returns the command element of the answer (form + session)."""
        reply = await client["xep_0050"].send_command(DOMAIN, ADMIN_NODE + command, timeout=TIMEOUT)
        return reply["command"]

    async def submit(self, client, command, first, values):
        form = client["xep_0004"].make_form(ftype="submit")
        for var, value in values.items():
            form.add_field(var=var, value=value)
        reply = await client["xep_0050"].send_command(
            DOMAIN, ADMIN_NODE + command, action="complete", sessionid=first["sessionid"],
            payload=form, timeout=TIMEOUT)
        return reply["command"]

    async def run_command(self, client, command, values):
        first = await self.execute(client, command)
        self.assertEqual(first["status"], "executing")
        self.assertTrue(first["sessionid"])
        fields = first["form"].get_fields()
        for var in values:
            self.assertIn(var, fields, f"{command}: the form has no field {var}")
        done = await self.submit(client, command, first, values)
        self.assertEqual(done["status"], "completed", done)
        return done

    async def iq_error(self, future):
        with self.assertRaises(slixmpp.exceptions.IqError) as caught:
            await future
        return caught.exception.iq

    async def can_login(self, server, jid, password):
        client = Client(jid, password, "SCRAM-SHA-256", server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        ok = await client.outcome()
        if ok:
            await client.close()
        return ok


class AdminCommands(AdhocTestCase):
    """What the admin can do."""

    async def test_commands_are_listed(self):
        server = self.start_admin_server()
        admin = await self.connect(server, "admin@localhost/console", ADMIN[1])
        items = await admin["xep_0050"].get_commands(DOMAIN, timeout=TIMEOUT)
        nodes = {item[1] for item in items["disco_items"]["items"]}
        for command in ("add-user", "delete-user", "change-user-password", "get-online-users-list", "announce"):
            self.assertIn(ADMIN_NODE + command, nodes)
        info = await admin["xep_0030"].get_info(DOMAIN, timeout=TIMEOUT)
        self.assertIn(COMMANDS, info["disco_info"]["features"])

    async def test_added_user_can_log_in(self):
        server = self.start_admin_server()
        admin = await self.connect(server, "admin@localhost/console", ADMIN[1])
        done = await self.run_command(admin, "add-user", {
            "accountjid": "carol@localhost", "password": "carol-pw", "password-verify": "carol-pw"})
        self.assertTrue(done["notes"], done)
        self.assertTrue(await self.can_login(server, "carol@localhost", "carol-pw"))
        # Again: the account exists.
        first = await self.execute(admin, "add-user")
        error = await self.iq_error(self.submit(admin, "add-user", first, {
            "accountjid": "carol@localhost", "password": "x", "password-verify": "x"}))
        self.assertEqual(error["error"]["condition"], "conflict")
        # Passwords that differ.
        first = await self.execute(admin, "add-user")
        error = await self.iq_error(self.submit(admin, "add-user", first, {
            "accountjid": "dave@localhost", "password": "x", "password-verify": "y"}))
        self.assertEqual(error["error"]["condition"], "not-acceptable")
        self.assertFalse(await self.can_login(server, "dave@localhost", "x"))

    async def test_change_password_and_delete_user(self):
        server = self.start_admin_server()
        admin = await self.connect(server, "admin@localhost/console", ADMIN[1])
        await self.run_command(admin, "change-user-password",
                               {"accountjid": "alice@localhost", "password": "changed"})
        self.assertTrue(await self.can_login(server, "alice@localhost", "changed"))
        self.assertFalse(await self.can_login(server, "alice@localhost", ALICE[1]))

        bob = await self.login(server, "bob@localhost/laptop", BOB[1])
        await self.run_command(admin, "delete-user", {"accountjids": ["bob@localhost"]})
        await asyncio.wait_for(bob.ended.wait(), TIMEOUT)  # deleting ends the sessions
        self.assertFalse(await self.can_login(server, "bob@localhost", BOB[1]))

    async def test_online_users_and_announcement(self):
        server = self.start_admin_server()
        admin = await self.connect(server, "admin@localhost/console", ADMIN[1])
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        bob = await self.connect(server, "bob@localhost/laptop", BOB[1])
        done = await self.run_command(admin, "get-online-users-list", {"max_items": "all"})
        online = done["form"].get_fields()["onlineuserjids"]["value"]
        self.assertEqual(sorted(str(j) for j in online), ["admin@localhost", "alice@localhost", "bob@localhost"])

        await self.run_command(admin, "announce", {"subject": "Maintenance", "announcement": "Back soon"})
        for client in (alice, bob, admin):
            message = await asyncio.wait_for(client.headlines.get(), TIMEOUT)
            self.assertEqual((message["subject"], message["body"]), ("Maintenance", "Back soon"))
            self.assertEqual(message["from"].full, DOMAIN)

    async def test_cancel_and_unknown_session(self):
        server = self.start_admin_server()
        admin = await self.connect(server, "admin@localhost/console", ADMIN[1])
        first = await self.execute(admin, "add-user")
        reply = await admin["xep_0050"].send_command(
            DOMAIN, ADMIN_NODE + "add-user", action="cancel", sessionid=first["sessionid"], timeout=TIMEOUT)
        self.assertEqual(reply["command"]["status"], "canceled")
        # The canceled session is gone.
        error = await self.iq_error(self.submit(admin, "add-user", first, {
            "accountjid": "carol@localhost", "password": "x", "password-verify": "x"}))
        self.assertEqual(error["error"]["condition"], "bad-request")
        self.assertIsNotNone(error.xml.find(f".//{{{COMMANDS}}}bad-sessionid"), error)


class NonAdmin(AdhocTestCase):
    """Everyone else sees no commands and may run none."""

    async def test_forbidden(self):
        server = self.start_admin_server()
        alice = await self.connect(server, "alice@localhost/one", ALICE[1])
        items = await alice["xep_0050"].get_commands(DOMAIN, timeout=TIMEOUT)
        self.assertEqual(list(items["disco_items"]["items"]), [])
        error = await self.iq_error(self.execute(alice, "add-user"))
        self.assertEqual(error["error"]["condition"], "forbidden")
        self.assertFalse(await self.can_login(server, "carol@localhost", "x"))


if __name__ == "__main__":
    unittest.main()

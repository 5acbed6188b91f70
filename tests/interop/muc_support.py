"""Shared pieces of the XEP-0045 (modules/muc) interop tests: a slixmpp client with the
MUC plugins that also keeps every presence and message it receives, and small helpers to
read MUC payloads. Not a test file itself (its name does not start with test_)."""

import asyncio

from slixmpp.exceptions import IqError, PresenceError
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import MatchXPath

from harness import TIMEOUT
from test_slixmpp import Client, SlixmppTestCase

SERVICE = "conference.localhost"
MUC = "http://jabber.org/protocol/muc"
MUC_USER = MUC + "#user"
DELAY = "{urn:xmpp:delay}delay"
USERS = {
    "alice": "alice-secret",
    "bob": "bob-secret",
    "carol": "carol-secret",
    "dave": "dave-secret",
}


def modules_toml(settings="", admins=()):
    # Appended after [hosts."localhost"]: the bare keys configure that host.
    admin_list = ", ".join(f'"{a}"' for a in admins)
    return f'modules = ["disco", "presence", "muc"]\nadmins = [{admin_list}]\n\n' + settings


def room_jid(name):
    return f"{name}@{SERVICE}"


def muc_x(stanza):
    return stanza.xml.find(f"{{{MUC_USER}}}x")


def status_codes(stanza):
    x = muc_x(stanza)
    return set() if x is None else {int(s.get("code")) for s in x.findall(f"{{{MUC_USER}}}status")}


def item(stanza):
    """The muc#user <item/> of a presence, as a dict of its attributes (empty if none)."""
    x = muc_x(stanza)
    found = None if x is None else x.find(f"{{{MUC_USER}}}item")
    return {} if found is None else dict(found.attrib)


def form_fields(form):
    """var → first value of each field of a data form (or of the form inside a stanza)."""
    xml = form.xml
    if xml.tag != "{jabber:x:data}x":
        xml = xml.find("{jabber:x:data}x")
    fields = {}
    for field in xml.findall("{jabber:x:data}field"):
        fields[field.get("var")] = field.findtext("{jabber:x:data}value")
    return fields


def error_condition(stanza):
    return stanza["error"]["condition"] if stanza["type"] == "error" else None


class Mailbox:
    """Stanzas received and not yet taken; take() waits for the first one matching."""

    def __init__(self):
        self.items = []
        self._changed = asyncio.Event()

    def add(self, stanza):
        self.items.append(stanza)
        self._changed.set()

    async def take(self, predicate, what="a matching stanza", timeout=TIMEOUT):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, stanza in enumerate(self.items):
                if predicate(stanza):
                    del self.items[i]
                    return stanza
            self._changed.clear()
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise asyncio.TimeoutError()
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                pending = "\n".join(str(s) for s in self.items)
                raise AssertionError(f"no {what} within {timeout}s; pending:\n{pending}") from None


class MucClient(Client):
    """A slixmpp client with XEP-0045/0004/0030/0199/0249 that records presence and
    messages (every type) in mailboxes."""

    def __init__(self, jid, password, ca_file):
        super().__init__(jid, password, "SCRAM-SHA-256", ca_file)
        for plugin in ("xep_0030", "xep_0004", "xep_0045", "xep_0082", "xep_0199", "xep_0203", "xep_0249"):
            self.register_plugin(plugin)
        self.presences = Mailbox()
        self.messages = Mailbox()
        self.register_handler(Callback("test presence", MatchXPath("{jabber:client}presence"),
                                       self.presences.add))
        self.register_handler(Callback("test message", MatchXPath("{jabber:client}message"),
                                       self.messages.add))

    @property
    def muc(self):
        return self["xep_0045"]

    async def presence_from(self, jid, *, type=None, codes=(), where=lambda p: True):
        """The next presence from `jid` (of `type`: None any, "available", "unavailable",
        "error") carrying every status code in `codes`, for which `where` holds."""
        def matches(p):
            if p["from"].full != jid:
                return False
            if type == "available" and p["type"] in ("unavailable", "error"):
                return False
            if type not in (None, "available") and p["type"] != type:
                return False
            return set(codes) <= status_codes(p) and where(p)
        return await self.presences.take(matches, f"presence from {jid} type={type} codes={codes}")

    async def message_from(self, jid, predicate=lambda m: True, what="message"):
        return await self.messages.take(lambda m: m["from"].full == jid and predicate(m),
                                        f"{what} from {jid}")

    async def groupchat_body(self, room, body):
        """Waits for the room's reflection of a groupchat message with this body."""
        return await self.messages.take(
            lambda m: m["type"] == "groupchat" and m["from"].bare == room and m["body"] == body,
            f"groupchat '{body}' in {room}")

    async def join(self, room, nick, **kwargs):
        """join_muc_wait: returns (own presence, subject, the other occupants' presence,
        history); raises PresenceError on refusal."""
        own, subject, occupants, history = await self.muc.join_muc_wait(room, nick, timeout=TIMEOUT, **kwargs)
        others = [p for p in occupants if 110 not in status_codes(p)]  # the plugin lists us too
        return own, subject, others, history

    async def join_refused(self, room, nick, **kwargs):
        """Joins and expects a presence error; returns its condition."""
        try:
            await self.join(room, nick, **kwargs)
        except PresenceError as e:
            return e.condition
        raise AssertionError(f"{self.boundjid}: joined {room}/{nick}, a refusal was expected")

    async def iq_error(self, awaitable):
        """Awaits an IQ that must fail; its error condition."""
        try:
            await awaitable
        except IqError as e:
            return e.iq["error"]["condition"]
        raise AssertionError("the IQ succeeded, an error was expected")

    async def ping(self, jid):
        iq = self.make_iq_get(ito=jid)
        iq.enable("ping")
        return await iq.send(timeout=TIMEOUT)

    async def instant_room(self, room, nick):
        """Creates `room` as an instant room (XEP-0045 §10.1.2): join, empty submit."""
        presence, _, _, _ = await self.join(room, nick)
        assert {110, 201} <= status_codes(presence), presence
        await self.muc.set_room_config(room, self["xep_0004"].make_form(ftype="submit"), timeout=TIMEOUT)
        return presence

    async def configure(self, room, **values):
        """Submits the room's configuration form with the given muc#roomconfig_<key> values."""
        form = await self.muc.get_room_config(room, timeout=TIMEOUT)
        offered = form_fields(form)
        submit = self["xep_0004"].make_form(ftype="submit")
        submit.add_field(var="FORM_TYPE", ftype="hidden", value="http://jabber.org/protocol/muc#roomconfig")
        for key, value in values.items():
            assert f"muc#roomconfig_{key}" in offered, f"no field {key} in {form}"
            submit.add_field(var=f"muc#roomconfig_{key}", value=value,
                             ftype="list-multi" if isinstance(value, list) else None)
        await self.muc.set_room_config(room, submit, timeout=TIMEOUT)


class MucTestCase(SlixmppTestCase):

    def start_muc_server(self, settings="", admins=()):
        server = self.start_server(extra_toml=modules_toml(settings, admins))
        for name, password in USERS.items():
            server.add_user(f"{name}@localhost", password)
        return server

    async def connect(self, server, name, resource="res"):
        client = MucClient(f"{name}@localhost/{resource}", USERS[name], server.ca_file)
        client.open(server, "starttls")
        self.addAsyncCleanup(self._close_quietly, client)
        self.assertTrue(await client.outcome(), f"{name}: no session")
        await client.barrier()
        return client

"""One avatar, set either way (XEP-0398), against the real xmppd: a vCard-based client sets
its photo with slixmpp's xep_0153 plugin and a PEP client (xep_0084) is notified and
fetches the same image; the PEP client publishes a new avatar and the vCard, and the
presence hash the server adds (XEP-0153), follow. Anyone may read the avatar.

Run from tests/interop/ with Debian's interpreter:
    /usr/bin/python3 -m unittest -v test_avatars
"""

import base64
import hashlib
import unittest

from harness import TIMEOUT
from test_pep import PepTestCase, PLUGINS
from test_roster import ALICE, BOB, CAROL

DATA = "urn:xmpp:avatar:data"
METADATA = "urn:xmpp:avatar:metadata"
OLD_PICTURE = b"\x89PNG\r\n\x1a\n" + b"the old client's picture" * 20
NEW_PICTURE = b"\x89PNG\r\n\x1a\n" + b"the new client's picture" * 30


class Conversion(PepTestCase):

    async def asyncSetUp(self):
        await super().asyncSetUp()
        self.server.stop()
        self.server = self.start_server(
            extra_toml='modules = ["roster", "presence", "disco", "vcard", "pep"]\n')
        for user in (ALICE, BOB, CAROL):
            self.server.add_user(*user)

    async def vcard_photo(self, client, jid):
        reply = await client["xep_0054"].get_vcard(jid, local=False, timeout=TIMEOUT)
        photo = reply["vcard_temp"]["PHOTO"]
        return photo["TYPE"], photo["BINVAL"]

    async def test_vcard_photo_and_pep_avatar_are_one(self):
        old = await self.login(ALICE, "old", plugins=PLUGINS + ("xep_0054", "xep_0153"))
        new = await self.pep_login(ALICE, "new", interests=(METADATA,), plugins=PLUGINS + ("xep_0084",))
        bob = await self.pep_login(BOB, "desk")
        await self.subscribe(bob, new)
        features = (await new["xep_0030"].get_info(jid="alice@localhost", timeout=TIMEOUT))["disco_info"]["features"]
        self.assertIn("urn:xmpp:pep-vcard-conversion:0", features)

        # The vCard client sets a photo: the PEP client hears of it and fetches that image.
        await old["xep_0153"].set_avatar(avatar=OLD_PICTURE, mtype="image/png", timeout=TIMEOUT)
        old_id = hashlib.sha1(OLD_PICTURE).hexdigest()
        event = await self.next_event(new)
        self.assertEqual(event["pubsub_event"]["items"]["node"], METADATA)
        info = event.xml.find(f".//{{{METADATA}}}info")
        self.assertEqual((info.get("id"), info.get("type"), info.get("bytes")),
                         (old_id, "image/png", str(len(OLD_PICTURE))))
        reply = await new["xep_0084"].retrieve_avatar("alice@localhost", old_id, timeout=TIMEOUT)
        self.assertEqual(base64.b64decode(reply.xml.findtext(f".//{{{DATA}}}data")), OLD_PICTURE)
        # Anyone may read it, as anyone may read the vCard.
        carol = await self.pep_login(CAROL, "laptop")
        self.assertEqual(len(await self.items(carol, "alice@localhost", DATA)), 1)

        # The PEP client publishes a new avatar: the vCard holds it next.
        new_id = hashlib.sha1(NEW_PICTURE).hexdigest()
        await new["xep_0084"].publish_avatar(NEW_PICTURE, timeout=TIMEOUT)
        await new["xep_0084"].publish_avatar_metadata(
            [{"id": new_id, "type": "image/png", "bytes": len(NEW_PICTURE)}], timeout=TIMEOUT)
        await self.log_line(r"pep: the vCard photo of alice@localhost (is now|was not)")
        mtype, binval = await self.vcard_photo(old, "alice@localhost")
        self.assertEqual((mtype, binval), ("image/png", NEW_PICTURE))
        # Presence without a photo hash gets the new one from the server (XEP-0153).
        new.send_presence(pstatus="new picture")
        presence = await bob.expect_presence("available", "alice@localhost/new")
        while presence["status"] != "new picture":
            presence = await bob.expect_presence("available", "alice@localhost/new")
        self.assertEqual(presence.xml.findtext("{vcard-temp:x:update}x/{vcard-temp:x:update}photo"), new_id)

        # Disabling the avatar in PEP removes the vCard photo.
        await new["xep_0084"].stop(timeout=TIMEOUT)
        await self.log_line(r"pep: the vCard photo of alice@localhost is now none")
        self.assertEqual(await self.vcard_photo(old, "alice@localhost"), ("", b""))


if __name__ == "__main__":
    unittest.main()

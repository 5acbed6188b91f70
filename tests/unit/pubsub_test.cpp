// The pubsub engine's pure pieces: node configuration (XEP-0060 §16.4) and the bookmark
// and avatar conversions (XEP-0402 §5.3, XEP-0398).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "avatar_compat.hpp"
#include "bookmarks_compat.hpp"
#include "node_config.hpp"

namespace {

using namespace pep;
using xmppd::Element;

Element form(std::vector<std::pair<std::string, std::vector<std::string>>> fields) {
  Element x("x", kDataForms);
  x.set_attr("type", "submit");
  for (auto& [var, values] : fields) {
    Element& f = x.add_child("field", kDataForms);
    f.set_attr("var", var);
    for (auto& v : values) f.add_child("value", kDataForms).add_text(v);
  }
  return x;
}

TEST(NodeConfig, NewFieldsSurviveTheStoreAndTheForm) {
  auto config = apply_form(form({{"FORM_TYPE", {kNodeConfig}},
                                 {"pubsub#access_model", {"roster"}},
                                 {"pubsub#roster_groups_allowed", {"Friends", "Work\nmates"}},
                                 {"pubsub#publish_model", {"open"}},
                                 {"pubsub#title", {"Notes"}}}),
                           NodeConfig{});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->publish_model, PublishModel::open);
  EXPECT_EQ(config->roster_groups, (std::vector<std::string>{"Friends", "Work mates"}));  // kept on one line
  EXPECT_EQ(deserialize(serialize(*config)), *config);
  // The owner's form offers them back.
  Element offered = config_form(*config);
  auto again = apply_form(offered, NodeConfig{});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *config);
}

TEST(NodeConfig, AnUnknownPublishModelIsRefused) {
  EXPECT_FALSE(apply_form(form({{"pubsub#publish_model", {"everyone"}}}), NodeConfig{}));
  EXPECT_FALSE(apply_form(form({{"pubsub#access_model", {"authorize"}}}), NodeConfig{}));
}

TEST(BookmarksCompat, LegacyBookmarksBecomeItemsAndBackKeepingUrls) {
  auto storage = Element::parse(
      "<storage xmlns='storage:bookmarks'>"
      "<conference jid='tea@conference.example' name='Tea' autojoin='1'><nick>ally</nick><password>pw</password></conference>"
      "<conference jid='not a jid@@' name='Broken'/>"
      "<conference jid='work@conference.example/res' name='Full JID'/>"
      "<url name='Example' url='https://example.org/'/>"
      "</storage>",
      "");
  ASSERT_TRUE(storage);
  std::vector<Item> items = items_of_legacy(*storage);
  ASSERT_EQ(items.size(), 1u);  // the malformed and the full JID are no rooms
  EXPECT_EQ(items[0].id, "tea@conference.example");
  auto conference = Element::parse(items[0].payload, "");
  ASSERT_TRUE(conference);
  EXPECT_TRUE(conference->is("conference", kBookmarks));
  EXPECT_EQ(conference->attr_or("name"), "Tea");
  EXPECT_EQ(conference->attr_or("autojoin"), "true");
  EXPECT_EQ(conference->child_text("nick", kBookmarks), "ally");
  EXPECT_EQ(conference->child_text("password", kBookmarks), "pw");

  Element back = legacy_of_items(items, &*storage);
  ASSERT_EQ(back.nodes().size(), 2u);
  const Element& c = back.nodes()[0];
  EXPECT_TRUE(c.is("conference", kLegacyBookmarks));
  EXPECT_EQ(c.attr_or("jid"), "tea@conference.example");
  EXPECT_EQ(c.attr_or("autojoin"), "true");
  EXPECT_EQ(c.child_text("nick", kLegacyBookmarks), "ally");
  EXPECT_TRUE(back.nodes()[1].is("url", kLegacyBookmarks));
}

TEST(BookmarksCompat, TheNodeIsPrivateAndKeepsEveryItem) {
  NodeConfig c = bookmarks_node_config();
  EXPECT_EQ(c.access, Access::whitelist);
  EXPECT_EQ(c.max_items, kMaxItems);
  EXPECT_EQ(c.send_last, "never");
}

TEST(AvatarCompat, AVcardPhotoIsTheSameImageInPep) {
  // "hello" in base64, folded as vCards often are; SHA-1 of "hello".
  auto vcard = Element::parse(
      "<vCard xmlns='vcard-temp'><FN>Alice</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVs\n bG8=</BINVAL></PHOTO></vCard>", "");
  ASSERT_TRUE(vcard);
  AvatarItems items = avatar_items_of_vcard(*vcard);
  ASSERT_TRUE(items.data);
  const std::string sha1 = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
  EXPECT_EQ(items.data->id, sha1);
  EXPECT_EQ(items.metadata.id, sha1);
  auto meta = Element::parse(items.metadata.payload, "");
  ASSERT_TRUE(meta);
  const Element* info = meta->child("info", kAvatarMetadata);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->attr_or("bytes"), "5");
  EXPECT_EQ(info->attr_or("type"), "image/png");
  EXPECT_FALSE(avatar_disabled(items.metadata));

  // And back: the image the metadata names replaces the vCard's photo, the rest stays.
  auto image = image_of(items.metadata, items.data);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->base64, "aGVsbG8=");
  Element rewritten = vcard_with_photo(*vcard, image);
  EXPECT_EQ(rewritten.child_text("FN", "vcard-temp"), "Alice");
  EXPECT_EQ(rewritten.child("PHOTO", "vcard-temp")->child_text("BINVAL", "vcard-temp"), "aGVsbG8=");
  // Data under another id is not that image.
  Item other = *items.data;
  other.id = "0000";
  EXPECT_FALSE(image_of(items.metadata, other));
}

TEST(AvatarCompat, NoPhotoDisablesTheAvatarAndNoAvatarRemovesThePhoto) {
  auto vcard = Element::parse("<vCard xmlns='vcard-temp'><PHOTO><TYPE>image/png</TYPE><BINVAL>aGVsbG8=</BINVAL></PHOTO></vCard>", "");
  ASSERT_TRUE(vcard);
  AvatarItems none = avatar_items_of_vcard(Element("vCard", "vcard-temp"));
  EXPECT_FALSE(none.data);
  EXPECT_TRUE(avatar_disabled(none.metadata));
  EXPECT_FALSE(vcard_with_photo(*vcard, std::nullopt).child("PHOTO", "vcard-temp"));
}

}  // namespace

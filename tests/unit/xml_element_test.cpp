#include <xmppd/element.hpp>

#include <gtest/gtest.h>

namespace xmppd {
namespace {

TEST(Element, ConstructsWithNameAndNamespace) {
  Element e("message", "jabber:client");
  EXPECT_EQ(e.name(), "message");
  EXPECT_EQ(e.ns(), "jabber:client");
  EXPECT_TRUE(e.is("message", "jabber:client"));
  EXPECT_FALSE(e.is("message", "jabber:server"));
  EXPECT_FALSE(e.is_text());
  e.set_ns("jabber:server");
  EXPECT_TRUE(e.is("message", "jabber:server"));
}

TEST(Element, TextNodeHasNoNameAndCarriesContent) {
  Element t = Element::text_node("hello");
  EXPECT_TRUE(t.is_text());
  EXPECT_TRUE(t.name().empty());
  EXPECT_EQ(t.content(), "hello");
}

TEST(Element, AttributesSetReplaceRemove) {
  Element e("iq", "jabber:client");
  EXPECT_EQ(e.attr("type"), nullptr);
  EXPECT_EQ(e.attr_or("type", "get"), "get");
  e.set_attr("type", "get").set_attr("id", "1");
  ASSERT_NE(e.attr("type"), nullptr);
  EXPECT_EQ(*e.attr("type"), "get");
  e.set_attr("type", "result");  // replaces in place, no duplicate
  EXPECT_EQ(e.attrs().size(), 2u);
  EXPECT_EQ(e.attrs()[0].first, "type");
  EXPECT_EQ(e.attr_or("type"), "result");
  EXPECT_TRUE(e.remove_attr("type"));
  EXPECT_FALSE(e.remove_attr("type"));
  EXPECT_EQ(e.attr("type"), nullptr);
  EXPECT_EQ(e.attr_or("id"), "1");
}

TEST(Element, ChildLookupSkipsTextAndMatchesNamespace) {
  Element msg("message", "jabber:client");
  msg.add_text("  ");
  msg.add_child("body", "jabber:client").add_text("hi");
  msg.add_child("x", "urn:a");
  msg.add_child("x", "urn:b");

  ASSERT_NE(msg.first_child(), nullptr);
  EXPECT_EQ(msg.first_child()->name(), "body");
  ASSERT_NE(msg.child("x", "urn:b"), nullptr);
  EXPECT_EQ(msg.child("x", "urn:b")->ns(), "urn:b");
  EXPECT_EQ(msg.child("body", "urn:a"), nullptr);
  EXPECT_EQ(msg.child("", ""), nullptr);  // never matches a text node

  Element* mutable_child = msg.child("x", "urn:a");
  ASSERT_NE(mutable_child, nullptr);
  mutable_child->set_attr("k", "v");
  EXPECT_EQ(msg.child("x", "urn:a")->attr_or("k"), "v");

  Element only_text("a");
  only_text.add_text("x");
  EXPECT_EQ(only_text.first_child(), nullptr);
}

TEST(Element, AddChildReturnsTheChildAndAddTextTheElement) {
  Element e("a");
  Element& b = e.add_child("b", "urn:b");
  EXPECT_EQ(b.name(), "b");
  Element& c = e.add_child(Element("c", "urn:c"));
  EXPECT_EQ(c.name(), "c");
  Element& self = e.add_text("t");
  EXPECT_EQ(&self, &e);
  ASSERT_EQ(e.nodes().size(), 3u);
  EXPECT_TRUE(e.nodes()[2].is_text());
}

TEST(Element, TextConcatenatesOnlyDirectCharacterData) {
  Element e("body");
  e.add_text("Hello, ");
  e.add_child(Element("b")).add_text("not me");
  e.add_text("world");
  EXPECT_EQ(e.text(), "Hello, world");
  EXPECT_EQ(Element("empty").text(), "");
}

TEST(Element, ChildText) {
  Element msg("message", "jabber:client");
  msg.add_child("body", "jabber:client").add_text("one").add_text(" two");
  EXPECT_EQ(msg.child_text("body", "jabber:client"), "one two");
  EXPECT_EQ(msg.child_text("subject", "jabber:client"), "");
}

TEST(Element, RemoveChildrenRemovesAllMatchesOnly) {
  Element e("a", "urn:a");
  e.add_child("x", "urn:x");
  e.add_text("t");
  e.add_child("x", "urn:y");
  e.add_child("x", "urn:x");
  e.remove_children("x", "urn:x");
  ASSERT_EQ(e.nodes().size(), 2u);
  EXPECT_TRUE(e.nodes()[0].is_text());
  EXPECT_EQ(e.nodes()[1].ns(), "urn:y");
  e.clear_children();
  EXPECT_TRUE(e.nodes().empty());
}

TEST(Element, StrSerializesRelativeToParentNamespace) {
  Element msg("message", "jabber:client");
  msg.set_attr("to", "a@b");
  msg.add_child("body", "jabber:client").add_text("hi");
  EXPECT_EQ(msg.str("jabber:client"), "<message to='a@b'><body>hi</body></message>");
  EXPECT_EQ(msg.str(), "<message xmlns='jabber:client' to='a@b'><body>hi</body></message>");
}

}  // namespace
}  // namespace xmppd

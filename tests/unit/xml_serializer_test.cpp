#include "xml/serializer.hpp"

#include <gtest/gtest.h>

#include <xmppd/namespaces.hpp>

namespace xmppd::xml {
namespace {

std::string text_escaped(std::string_view s) {
  std::string out;
  escape_text(s, out);
  return out;
}

std::string attr_escaped(std::string_view s) {
  std::string out;
  escape_attr(s, out);
  return out;
}

TEST(Serializer, EscapeTextEscapesMarkupOnly) {
  EXPECT_EQ(text_escaped("plain text, caf\xC3\xA9"), "plain text, caf\xC3\xA9");
  EXPECT_EQ(text_escaped("a & b < c > d \"q\" 'a'"), "a &amp; b &lt; c &gt; d \"q\" 'a'");
  EXPECT_EQ(text_escaped("&&<<"), "&amp;&amp;&lt;&lt;");
  EXPECT_EQ(text_escaped("]]>"), "]]&gt;");
  EXPECT_EQ(text_escaped(""), "");
}

TEST(Serializer, EscapeTextKeepsCarriageReturnThroughLineEndNormalization) {
  EXPECT_EQ(text_escaped("a\r\nb\tc"), "a&#13;\nb\tc");
}

TEST(Serializer, EscapeAttrEscapesBothQuotesAndWhitespaceParsersNormalize) {
  EXPECT_EQ(attr_escaped("a&b<c>d\"e'f"), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  EXPECT_EQ(attr_escaped("x\ty\nz\r"), "x&#9;y&#10;z&#13;");
  EXPECT_EQ(attr_escaped("user@example.com/res"), "user@example.com/res");
}

TEST(Serializer, EscapeAppendsToExistingOutput) {
  std::string out = "prefix:";
  escape_text("<", out);
  EXPECT_EQ(out, "prefix:&lt;");
}

TEST(Serializer, EmptyElementSelfCloses) {
  Element e("presence", ns::kClient);
  EXPECT_EQ(e.str(ns::kClient), "<presence/>");
  e.add_child("show", ns::kClient);
  EXPECT_EQ(e.str(ns::kClient), "<presence><show/></presence>");
}

TEST(Serializer, XmlnsOnlyWhereTheNamespaceChanges) {
  Element iq("iq", ns::kClient);
  iq.set_attr("type", "result");
  Element& query = iq.add_child("query", "jabber:iq:roster");
  query.add_child("item", "jabber:iq:roster").set_attr("jid", "a@b");
  query.add_child(Element("group"));  // no namespace: inherits jabber:iq:roster
  iq.add_child("error", ns::kClient);

  EXPECT_EQ(iq.str(ns::kClient),
            "<iq type='result'><query xmlns='jabber:iq:roster'><item jid='a@b'/><group/></query>"
            "<error/></iq>");
  EXPECT_EQ(iq.str(),
            "<iq xmlns='jabber:client' type='result'><query xmlns='jabber:iq:roster'><item jid='a@b'/>"
            "<group/></query><error/></iq>");
}

TEST(Serializer, XmlLangIsEmittedAsXmlLang) {
  Element msg("message", ns::kClient);
  msg.set_attr("xml:lang", "de");
  msg.add_child("body", ns::kClient).add_text("Hallo");
  EXPECT_EQ(msg.str(ns::kClient), "<message xml:lang='de'><body>Hallo</body></message>");
}

TEST(Serializer, NamespacedAttributesGetADeclaredPrefixPerUri) {
  Element e("x", "urn:x");
  e.set_attr("a", "1");
  e.set_attr("urn:p|b", "2");
  e.set_attr("urn:q|c", "3");
  e.set_attr("urn:p|d", "4");
  e.set_attr(std::string(ns::kXml) + "|space", "preserve");
  EXPECT_EQ(e.str("urn:x"),
            "<x a='1' xmlns:a0='urn:p' a0:b='2' xmlns:a1='urn:q' a1:c='3' a0:d='4' xml:space='preserve'/>");
}

TEST(Serializer, AttributeValuesAndTextAreEscaped) {
  Element msg("message", ns::kClient);
  msg.set_attr("id", "a'b\"c<&>");
  msg.add_child("body", ns::kClient).add_text("1 < 2 && 3 > 2");
  EXPECT_EQ(msg.str(ns::kClient),
            "<message id='a&apos;b&quot;c&lt;&amp;&gt;'><body>1 &lt; 2 &amp;&amp; 3 &gt; 2</body></message>");
}

TEST(Serializer, SerializeAppendsAfterExistingBytes) {
  std::string out = "<stream:stream>";
  serialize(Element("presence", ns::kClient), out, ns::kClient);
  serialize(Element("presence", ns::kClient), out, ns::kClient);
  EXPECT_EQ(out, "<stream:stream><presence/><presence/>");
}

TEST(Serializer, TextNodeAloneSerializesAsEscapedText) {
  std::string out;
  serialize(Element::text_node("a<b"), out);
  EXPECT_EQ(out, "a&lt;b");
}

}  // namespace
}  // namespace xmppd::xml

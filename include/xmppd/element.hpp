// An XML element tree: what a stanza is once parsed, and what modules build to send.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace xmppd {

class Element {
 public:
  using Attribute = std::pair<std::string, std::string>;

  Element() = default;
  explicit Element(std::string name, std::string ns = {});
  // A character-data node; it has no name.
  static Element text_node(std::string text);
  // Parses one element serialized by str(default_ns) (e.g. read back from storage), with
  // `default_ns` in scope as it was when serialized. nullopt if it is not well-formed.
  static std::optional<Element> parse(std::string_view xml, std::string_view default_ns = "jabber:client");

  const std::string& name() const { return name_; }
  const std::string& ns() const { return ns_; }
  void set_ns(std::string ns) { ns_ = std::move(ns); }
  bool is(std::string_view name, std::string_view ns) const { return name_ == name && ns_ == ns; }
  bool is_text() const { return name_.empty(); }
  // The character data of a text node.
  const std::string& content() const { return text_; }

  // Attributes. Names are local names, except "xml:lang" and "xmlns" declarations are never
  // stored (the namespace is ns()); an attribute in another namespace is named "uri|local".
  const std::string* attr(std::string_view name) const;
  std::string_view attr_or(std::string_view name, std::string_view fallback = {}) const;
  Element& set_attr(std::string name, std::string value);
  bool remove_attr(std::string_view name);
  const std::vector<Attribute>& attrs() const { return attrs_; }
  // Room for n attributes in one allocation (for a builder that knows how many come).
  void reserve_attrs(std::size_t n) { attrs_.reserve(n); }

  // Children: elements and text nodes in document order.
  const std::vector<Element>& nodes() const { return nodes_; }
  std::vector<Element>& nodes() { return nodes_; }
  const Element* child(std::string_view name, std::string_view ns) const;
  Element* child(std::string_view name, std::string_view ns);
  // First child element in any namespace (skips text), or nullptr.
  const Element* first_child() const;
  Element& add_child(Element child);
  Element& add_child(std::string name, std::string ns);
  Element& add_text(std::string text);
  void remove_children(std::string_view name, std::string_view ns);
  void clear_children() { nodes_.clear(); }

  // Concatenated direct character data.
  std::string text() const;
  // text() of the first matching child, or empty.
  std::string child_text(std::string_view name, std::string_view ns) const;

  // Serialized form; `parent_ns` is the namespace in scope (omitted when equal).
  std::string str(std::string_view parent_ns = {}) const;

 private:
  std::string name_;
  std::string ns_;
  std::string text_;
  std::vector<Attribute> attrs_;
  std::vector<Element> nodes_;
};

}  // namespace xmppd

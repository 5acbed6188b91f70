#include <xmppd/element.hpp>

#include <algorithm>

#include "xml/serializer.hpp"

namespace xmppd {

Element::Element(std::string name, std::string ns) : name_(std::move(name)), ns_(std::move(ns)) {}

Element Element::text_node(std::string text) {
  Element e;
  e.text_ = std::move(text);
  return e;
}

const std::string* Element::attr(std::string_view name) const {
  for (const Attribute& a : attrs_) {
    if (a.first == name) return &a.second;
  }
  return nullptr;
}

std::string_view Element::attr_or(std::string_view name, std::string_view fallback) const {
  const std::string* value = attr(name);
  return value ? std::string_view(*value) : fallback;
}

Element& Element::set_attr(std::string name, std::string value) {
  for (Attribute& a : attrs_) {
    if (a.first == name) {
      a.second = std::move(value);
      return *this;
    }
  }
  attrs_.emplace_back(std::move(name), std::move(value));
  return *this;
}

bool Element::remove_attr(std::string_view name) {
  auto it = std::find_if(attrs_.begin(), attrs_.end(), [&](const Attribute& a) { return a.first == name; });
  if (it == attrs_.end()) return false;
  attrs_.erase(it);
  return true;
}

const Element* Element::child(std::string_view name, std::string_view ns) const {
  for (const Element& n : nodes_) {
    if (!n.is_text() && n.is(name, ns)) return &n;
  }
  return nullptr;
}

Element* Element::child(std::string_view name, std::string_view ns) {
  return const_cast<Element*>(std::as_const(*this).child(name, ns));
}

const Element* Element::first_child() const {
  for (const Element& n : nodes_) {
    if (!n.is_text()) return &n;
  }
  return nullptr;
}

Element& Element::add_child(Element child) { return nodes_.emplace_back(std::move(child)); }

Element& Element::add_child(std::string name, std::string ns) {
  return nodes_.emplace_back(std::move(name), std::move(ns));
}

// Returns this element (not the text node) so that building reads as a chain.
Element& Element::add_text(std::string text) {
  nodes_.push_back(text_node(std::move(text)));
  return *this;
}

void Element::remove_children(std::string_view name, std::string_view ns) {
  std::erase_if(nodes_, [&](const Element& n) { return !n.is_text() && n.is(name, ns); });
}

std::string Element::text() const {
  std::string out;
  for (const Element& n : nodes_) {
    if (n.is_text()) out += n.text_;
  }
  return out;
}

std::string Element::child_text(std::string_view name, std::string_view ns) const {
  const Element* c = child(name, ns);
  return c ? c->text() : std::string();
}

std::string Element::str(std::string_view parent_ns) const {
  std::string out;
  xml::serialize(*this, out, parent_ns);
  return out;
}

}  // namespace xmppd

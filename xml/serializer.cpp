#include "xml/serializer.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include <xmppd/namespaces.hpp>

namespace xmppd::xml {
namespace {

// `special` is what the scan reads (256 bytes, a few cache lines); `with` only on a hit.
struct EscapeTable {
  std::array<bool, 256> special{};
  std::array<std::string_view, 256> with{};
  constexpr void set(char c, std::string_view replacement) {
    special[static_cast<unsigned char>(c)] = true;
    with[static_cast<unsigned char>(c)] = replacement;
  }
};

// Besides the markup characters, CR is escaped in text and TAB/LF/CR in attribute values:
// a parser normalizes them (line-end and attribute-value normalization), so a literal one
// would not survive the trip to the reader.
constexpr EscapeTable make_table(bool attribute) {
  EscapeTable t{};
  t.set('&', "&amp;");
  t.set('<', "&lt;");
  t.set('>', "&gt;");
  t.set('\r', "&#13;");
  if (attribute) {
    t.set('"', "&quot;");
    t.set('\'', "&apos;");
    t.set('\t', "&#9;");
    t.set('\n', "&#10;");
  }
  return t;
}
constexpr EscapeTable kTextEscapes = make_table(false);
constexpr EscapeTable kAttrEscapes = make_table(true);

// Appends runs of plain bytes in one piece; multi-byte UTF-8 never matches (all >= 0x80).
void escape(std::string_view in, std::string& out, const EscapeTable& table) {
  const char* run = in.data();
  const char* const end = run + in.size();
  for (const char* p = run; p != end; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if (!table.special[c]) continue;
    out.append(run, p);
    out.append(table.with[c]);
    run = p + 1;
  }
  out.append(run, end);
}

void append_attr(std::string& out, std::string_view name, std::string_view value) {
  out += ' ';
  out += name;
  out += "='";
  escape(value, out, kAttrEscapes);
  out += '\'';
}

// An attribute named "uri|local" needs a prefix bound to uri. Prefixes are declared on the
// element itself (a0, a1, ... per distinct uri in `uris`), so they never depend on ancestors.
void append_namespaced_attr(std::string& out, std::string_view name, std::size_t bar, std::string_view value,
                            std::vector<std::string_view>& uris) {
  const std::string_view uri = name.substr(0, bar);
  out += ' ';
  if (uri == ns::kXml) {
    out += "xml";  // bound by definition; declaring it would be an error
  } else {
    auto it = std::find(uris.begin(), uris.end(), uri);
    const std::string prefix = 'a' + std::to_string(it - uris.begin());
    if (it == uris.end()) {
      uris.push_back(uri);
      out += "xmlns:";
      out += prefix;
      out += "='";
      escape(uri, out, kAttrEscapes);
      out += "' ";
    }
    out += prefix;
  }
  out += ':';
  out += name.substr(bar + 1);
  out += "='";
  escape(value, out, kAttrEscapes);
  out += '\'';
}

// Upper bound guess of the serialized size, so the output grows once rather than repeatedly.
std::size_t estimate_size(const Element& e) {
  if (e.is_text()) return e.content().size();
  std::size_t n = 2 * e.name().size() + 5 + e.ns().size() + 9;
  for (const auto& [name, value] : e.attrs()) n += name.size() + value.size() + 4;
  for (const Element& c : e.nodes()) n += estimate_size(c);
  return n;
}

void write(const Element& e, std::string& out, std::string_view parent_ns) {
  if (e.is_text()) {
    escape(e.content(), out, kTextEscapes);
    return;
  }
  out += '<';
  out += e.name();
  // An element without a namespace is taken to be in its parent's: that is how modules
  // build children (Element("item")) and what they expect on the wire.
  std::string_view ns = parent_ns;
  if (!e.ns().empty() && e.ns() != parent_ns) {
    ns = e.ns();
    append_attr(out, "xmlns", ns);
  }
  std::vector<std::string_view> uris;  // allocates only if a namespaced attribute shows up
  for (const auto& [name, value] : e.attrs()) {
    const std::size_t bar = name.find('|');
    if (bar == std::string::npos) append_attr(out, name, value);
    else append_namespaced_attr(out, name, bar, value, uris);
  }
  if (e.nodes().empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const Element& child : e.nodes()) write(child, out, ns);
  out += "</";
  out += e.name();
  out += '>';
}

}  // namespace

void serialize(const Element& e, std::string& out, std::string_view parent_ns) {
  const std::size_t needed = out.size() + estimate_size(e);
  // Callers reuse one buffer for a whole connection: keep its growth geometric.
  if (needed > out.capacity()) out.reserve(std::max(needed, 2 * out.capacity()));
  write(e, out, parent_ns);
}

void escape_text(std::string_view text, std::string& out) { escape(text, out, kTextEscapes); }

void escape_attr(std::string_view value, std::string& out) { escape(value, out, kAttrEscapes); }

}  // namespace xmppd::xml

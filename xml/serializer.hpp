// Element → bytes, with the escaping XML requires.
#pragma once

#include <string>
#include <string_view>

#include <xmppd/element.hpp>

namespace xmppd::xml {

// Appends `e` to `out`. `parent_ns` is the default namespace already in scope: an element
// in that namespace gets no xmlns attribute, any other gets xmlns="...".
void serialize(const Element& e, std::string& out, std::string_view parent_ns = {});

// Appends `text` escaped for character data (&, <, >).
void escape_text(std::string_view text, std::string& out);
// Appends `value` escaped for a quoted attribute value (&, <, >, ", ').
void escape_attr(std::string_view value, std::string& out);

}  // namespace xmppd::xml

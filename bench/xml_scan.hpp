// A cheap scanner for XMPP streams: finds complete top-level elements (children of
// <stream:stream>) in a byte buffer without parsing XML. It tracks only tags, quoted
// attribute values and depth, which is enough for well-formed input from a server.
//
// Conn is any struct with: std::unique_ptr<char[]> rbuf; size_t rlen, scan, elem_start; int depth.
#pragma once

#include <cstring>
#include <string_view>

namespace bench {

enum class Ev { None, Header, Element, End };

// Next complete top-level element (a child of <stream:stream>), the stream header, or the
// stream's end. Views point into rbuf and stay valid until the next compact().
template <class Conn>
Ev next_event(Conn& c, std::string_view& out) {
  char* b = c.rbuf.get();
  const size_t n = c.rlen;
  while (c.scan < n) {
    auto* lt = static_cast<char*>(std::memchr(b + c.scan, '<', n - c.scan));
    if (!lt) {
      c.scan = n;
      return Ev::None;
    }
    const size_t pos = static_cast<size_t>(lt - b);
    size_t i = pos + 1;
    char quote = 0;
    for (; i < n; ++i) {
      char ch = b[i];
      if (quote) {
        if (ch == quote) quote = 0;
      } else if (ch == '"' || ch == '\'') {
        quote = ch;
      } else if (ch == '>') {
        break;
      }
    }
    if (i >= n) {  // the tag is incomplete: wait for more bytes
      c.scan = pos;
      return Ev::None;
    }
    const size_t end = i + 1;
    c.scan = end;
    const char kind = pos + 1 < n ? b[pos + 1] : 0;
    if (kind == '?' || kind == '!') continue;
    if (kind == '/') {
      --c.depth;
      if (c.depth == 1) {
        out = std::string_view(b + c.elem_start, end - c.elem_start);
        return Ev::Element;
      }
      if (c.depth <= 0) {
        c.depth = 0;
        return Ev::End;
      }
      continue;
    }
    const bool self_closing = b[i - 1] == '/';
    if (c.depth == 0) {
      if (self_closing) continue;
      c.depth = 1;
      out = std::string_view(b + pos, end - pos);
      return Ev::Header;
    }
    if (c.depth == 1) {
      if (self_closing) {
        out = std::string_view(b + pos, end - pos);
        return Ev::Element;
      }
      c.elem_start = pos;
      c.depth = 2;
      continue;
    }
    if (!self_closing) ++c.depth;
  }
  return Ev::None;
}

template <class Conn>
void compact(Conn& c) {
  const size_t keep = c.depth >= 2 ? c.elem_start : c.scan;
  if (keep == 0) return;
  std::memmove(c.rbuf.get(), c.rbuf.get() + keep, c.rlen - keep);
  c.rlen -= keep;
  c.scan -= keep;
  if (c.depth >= 2) c.elem_start -= keep;
}

// Text between an element's start tag and its end tag ("" for a self-closing element).
inline std::string_view inner_text(std::string_view el) {
  auto gt = el.find('>');
  if (gt == std::string_view::npos || (gt > 0 && el[gt - 1] == '/')) return {};
  auto lt = el.rfind("</");
  if (lt == std::string_view::npos || lt < gt) return {};
  return el.substr(gt + 1, lt - gt - 1);
}

inline std::string_view child_text(std::string_view el, std::string_view open, std::string_view close) {
  auto s = el.find(open);
  if (s == std::string_view::npos) return {};
  s += open.size();
  auto e = el.find(close, s);
  if (e == std::string_view::npos) return {};
  return el.substr(s, e - s);
}

}  // namespace bench

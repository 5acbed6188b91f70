#include "xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <new>
#include <random>

#include <xmppd/namespaces.hpp>

namespace xmppd::xml {

const char* to_string(ParseError e) {
  switch (e) {
    case ParseError::none: return "none";
    case ParseError::not_well_formed: return "not-well-formed";
    case ParseError::restricted_xml: return "restricted-xml";
    case ParseError::policy_violation: return "policy-violation";
    case ParseError::invalid_namespace: return "invalid-namespace";
  }
  return "unknown";
}

namespace {

// expat reports names in a namespace as "uri<sep>local". A space can appear in neither a
// namespace name nor a local name, so it separates them unambiguously.
constexpr XML_Char kSeparator = ' ';
constexpr std::string_view kStreamRoot = "http://etherx.jabber.org/streams stream";
// Largest piece handed to expat at once; the size limit is checked between pieces.
constexpr std::size_t kMaxSlice = 1 << 20;

struct ExpandedName {
  std::string_view uri;
  std::string_view local;
};

ExpandedName split(const XML_Char* raw) {
  std::string_view s(raw);
  const std::size_t sep = s.rfind(kSeparator);
  if (sep == std::string_view::npos) return {{}, s};
  return {s.substr(0, sep), s.substr(sep + 1)};
}

// expat salts its hash tables against collision attacks and, unless told a salt, asks the
// kernel for a new one after every reset (each stream restart, each parser taken from the
// pool). One secret salt per process keeps the protection without the system calls.
unsigned long hash_salt() {
  static const unsigned long salt = [] {
    std::random_device random;
    unsigned long s = (static_cast<unsigned long>(random()) << 32) ^ random();
    return s ? s : 1;  // 0 means "choose one yourself" to expat
  }();
  return salt;
}

bool is_whitespace(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// An expat parser holds ~11 KB once it has seen a stream (input buffer, tag and attribute
// arrays, namespace bindings), most of an idle session's memory. A session gone quiet gives
// its parser back to this per-thread pool (release_if_idle); sessions waking up on the thread
// reuse the few kept here, so releasing costs a reset, not an allocation.
class ParserPool {
 public:
  ~ParserPool() {
    for (XML_Parser p : free_) XML_ParserFree(p);
  }
  XML_Parser take() {
    if (free_.empty()) return XML_ParserCreateNS("UTF-8", kSeparator);
    XML_Parser p = free_.back();
    free_.pop_back();
    return p;
  }
  void give(XML_Parser p) {
    if (free_.size() >= kKept || !XML_ParserReset(p, "UTF-8")) return XML_ParserFree(p);
    free_.push_back(p);
  }
  static ParserPool& local() {
    thread_local ParserPool pool;
    return pool;
  }

 private:
  static constexpr std::size_t kKept = 8;
  std::vector<XML_Parser> free_;
};

void escape_into(std::string_view s, std::string& out) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
}

}  // namespace

struct StreamParser::Impl {
  explicit Impl(ParserLimits l) : limits(l) { start(); }
  ~Impl() {
    if (parser) ParserPool::local().give(parser);
  }

  ParserLimits limits;
  XML_Parser parser = nullptr;  // null between stanzas of an idle session (see ParserPool)
  std::vector<Event>* out = nullptr;  // set for the duration of feed()
  ParseError error = ParseError::none;
  std::string error_text;

  std::size_t depth = 0;      // open elements, the stream root included
  XML_Index fed = 0;          // bytes handed to expat since the stream began
  XML_Index boundary = 0;     // where the current stanza (or the gap before it) began
  std::string default_ns;     // the root's xmlns, announced before its start tag
  bool has_default_ns = false;
  Element stanza;             // the depth-1 element being built
  std::vector<Element*> open; // path from `stanza` to the innermost open element
  std::string text;           // character data not yet added to open.back()
  // The root's namespace declarations (prefix, URI; "" for the default) and the prefix of its
  // name: enough to rebuild an equivalent parser in the middle of the stream.
  std::vector<std::pair<std::string, std::string>> root_decls;
  std::string root_prefix;
  bool releasable = false;    // the root's name could be written back unambiguously
  bool replaying = false;     // parsing the synthetic header of a rebuilt parser

  // Fresh per-stream state; the parser (if any) starts over too.
  void start() {
    if (parser) XML_ParserReset(parser, "UTF-8");
    error = ParseError::none;
    error_text.clear();
    depth = 0;
    fed = boundary = 0;
    default_ns.clear();
    has_default_ns = false;
    stanza = Element();
    open.clear();
    text.clear();
    root_decls.clear();
    root_prefix.clear();
    releasable = replaying = false;
    if (parser) install_handlers();
  }

  // Handlers and settings (XML_ParserReset clears them).
  void install_handlers() {
    XML_SetUserData(parser, this);
    XML_SetHashSalt(parser, hash_salt());
    // Deferral holds back a token whose last bytes arrive in a small piece until more
    // bytes come; a client waiting for the answer to that stanza sends none.
    XML_SetReparseDeferralEnabled(parser, XML_FALSE);
    XML_SetParamEntityParsing(parser, XML_PARAM_ENTITY_PARSING_NEVER);
    XML_SetElementHandler(parser, on_start, on_end);
    XML_SetCharacterDataHandler(parser, on_text);
    XML_SetStartNamespaceDeclHandler(parser, on_namespace);
    // RFC 6120 §11.1. A DOCTYPE is refused as soon as it opens, so nothing it declares
    // (entities included: no billion laughs, no external fetch) is ever processed; the
    // entity handler is a second line should that ever change.
    XML_SetCommentHandler(parser, on_comment);
    XML_SetProcessingInstructionHandler(parser, on_pi);
    XML_SetStartDoctypeDeclHandler(parser, on_doctype);
    XML_SetEntityDeclHandler(parser, on_entity);
  }

  void fail(ParseError e, std::string detail) {
    if (error != ParseError::none) return;
    error = e;
    error_text = std::move(detail);
  }
  // From inside a handler. expat may still deliver an event or two after the stop, so
  // every handler first checks `error`.
  void abort(ParseError e, std::string detail) {
    fail(e, std::move(detail));
    XML_StopParser(parser, XML_FALSE);
  }

  XML_Index event_end() const { return XML_GetCurrentByteIndex(parser) + XML_GetCurrentByteCount(parser); }

  // Never while replaying a header: escaped, it may be longer than the limit the original
  // header was read within.
  bool over_size(XML_Index end) const {
    return !replaying && static_cast<std::size_t>(end - boundary) > limits.max_stanza_bytes;
  }
  std::string size_detail() const {
    return "stanza exceeds max_stanza_bytes (" + std::to_string(limits.max_stanza_bytes) + ")";
  }

  void flush_text() {
    if (text.empty()) return;
    open.back()->add_text(std::move(text));
    text.clear();  // a moved-from string is only "valid"; make it empty
  }

  static void add_attrs(Element& e, const XML_Char** atts) {
    for (; *atts; atts += 2) {
      const ExpandedName n = split(atts[0]);
      std::string name;
      if (n.uri.empty()) {
        name = n.local;
      } else if (n.local == "lang" && n.uri == ns::kXml) {
        name = "xml:lang";
      } else {
        name.reserve(n.uri.size() + 1 + n.local.size());
        name = n.uri;
        name += '|';
        name += n.local;
      }
      e.set_attr(std::move(name), atts[1]);
    }
  }

  void open_stream(const XML_Char* name, const XML_Char** atts) {
    if (name != kStreamRoot) {
      const ExpandedName n = split(name);
      return abort(ParseError::invalid_namespace, "root element is {" + std::string(n.uri) + "}" +
                                                      std::string(n.local) + ", not {" + ns::kStream + "}stream");
    }
    if (replaying) {  // a rebuilt parser re-reading the header: nothing to report
      depth = 1;
      return;
    }
    find_root_prefix();
    Element header("stream", ns::kStream);
    if (has_default_ns) header.set_attr("xmlns", default_ns);
    add_attrs(header, atts);
    depth = 1;
    boundary = event_end();
    out->push_back(StreamOpen{std::move(header)});
  }

  static void on_start(void* self, const XML_Char* name, const XML_Char** atts) {
    Impl& p = *static_cast<Impl*>(self);
    if (p.error != ParseError::none) return;
    if (p.over_size(p.event_end())) return p.abort(ParseError::policy_violation, p.size_detail());
    std::size_t count = 0;
    while (atts[2 * count]) ++count;
    if (count > p.limits.max_attributes) {
      return p.abort(ParseError::policy_violation,
                     "element exceeds max_attributes (" + std::to_string(p.limits.max_attributes) + ")");
    }
    if (p.depth == 0) return p.open_stream(name, atts);
    // The stanza itself is at depth 1 (p.depth == 1 when it starts).
    if (p.depth > p.limits.max_depth) {
      return p.abort(ParseError::policy_violation,
                     "stanza exceeds max_depth (" + std::to_string(p.limits.max_depth) + ")");
    }
    const ExpandedName n = split(name);
    Element* e;
    if (p.depth == 1) {
      p.stanza = Element(std::string(n.local), std::string(n.uri));
      e = &p.stanza;
      e->reserve_attrs(count + 1);  // the server stamps 'from' on every stanza
    } else {
      p.flush_text();
      // Only open.back()'s children grow, so pointers to its ancestors stay valid.
      e = &p.open.back()->add_child(std::string(n.local), std::string(n.uri));
    }
    add_attrs(*e, atts);
    p.open.push_back(e);
    ++p.depth;
  }

  static void on_end(void* self, const XML_Char*) {
    Impl& p = *static_cast<Impl*>(self);
    if (p.error != ParseError::none) return;
    if (p.over_size(p.event_end())) return p.abort(ParseError::policy_violation, p.size_detail());
    --p.depth;
    if (p.depth == 0) {
      p.out->emplace_back(std::in_place_type<StreamClose>);
      return;
    }
    p.flush_text();
    p.open.pop_back();
    if (p.depth == 1) {
      p.out->push_back(Stanza{std::move(p.stanza)});
      p.boundary = p.event_end();
    }
  }

  static void on_text(void* self, const XML_Char* s, int len) {
    Impl& p = *static_cast<Impl*>(self);
    if (p.error != ParseError::none) return;
    const std::string_view t(s, static_cast<std::size_t>(len));
    if (p.depth <= 1) {
      // Whitespace between stanzas is a keepalive: it ends the gap, it is not content.
      if (!is_whitespace(t)) return p.abort(ParseError::not_well_formed, "character data outside a stanza");
      p.boundary = p.event_end();
      return;
    }
    if (p.over_size(p.event_end())) return p.abort(ParseError::policy_violation, p.size_detail());
    p.text.append(t);
  }

  static void on_namespace(void* self, const XML_Char* prefix, const XML_Char* uri) {
    Impl& p = *static_cast<Impl*>(self);
    if (p.depth != 0 || p.replaying) return;
    p.root_decls.emplace_back(prefix ? prefix : "", uri ? uri : "");
    if (prefix) return;
    p.has_default_ns = true;
    p.default_ns = uri ? uri : "";
  }

  // The root was {streams}stream: its prefix is the one declaration bound to that namespace.
  void find_root_prefix() {
    int bound = 0;
    for (const auto& [prefix, uri] : root_decls) {
      if (uri != ns::kStream) continue;
      root_prefix = prefix;
      ++bound;
    }
    releasable = bound == 1;
  }

  // Between stanzas, with nothing half-parsed: the parser can go back to the pool.
  bool release_if_idle() {
    if (!parser) return true;
    if (!releasable || error != ParseError::none || depth != 1 || boundary != fed || !text.empty()) return false;
    ParserPool::local().give(parser);
    parser = nullptr;
    std::string().swap(text);
    std::vector<Element*>().swap(open);
    return true;
  }

  // A parser for the next bytes: fresh at the start of a stream, or (after a release) one
  // that has read an equivalent stream header, with its events suppressed.
  bool acquire() {
    parser = ParserPool::local().take();
    if (!parser) return false;
    install_handlers();
    if (depth == 0) return true;
    std::string header = "<";
    if (!root_prefix.empty()) header.append(root_prefix).append(":");
    header.append("stream");
    for (const auto& [prefix, uri] : root_decls) {
      header.append(prefix.empty() ? " xmlns='" : " xmlns:").append(prefix.empty() ? "" : prefix + "='");
      escape_into(uri, header);
      header += '\'';
    }
    header += '>';
    replaying = true;
    fed = boundary = 0;  // the byte positions now count from the synthetic header
    depth = 0;
    const auto ok = XML_Parse(parser, header.data(), static_cast<int>(header.size()), XML_FALSE);
    replaying = false;
    if (ok != XML_STATUS_OK || depth != 1 || error != ParseError::none) {
      fail(ParseError::not_well_formed, "internal: could not resume the stream");
      return false;
    }
    fed = boundary = static_cast<XML_Index>(header.size());
    return true;
  }

  static void on_comment(void* self, const XML_Char*) {
    static_cast<Impl*>(self)->abort(ParseError::restricted_xml, "comment");
  }
  static void on_pi(void* self, const XML_Char*, const XML_Char*) {
    static_cast<Impl*>(self)->abort(ParseError::restricted_xml, "processing instruction");
  }
  static void on_doctype(void* self, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<Impl*>(self)->abort(ParseError::restricted_xml, "document type declaration");
  }
  static void on_entity(void* self, const XML_Char*, int, const XML_Char*, int, const XML_Char*, const XML_Char*,
                        const XML_Char*, const XML_Char*) {
    static_cast<Impl*>(self)->abort(ParseError::restricted_xml, "entity declaration");
  }

  bool feed(std::string_view data, std::vector<Event>& events) {
    if (error != ParseError::none) return false;
    // XML never contains U+0000. Expat alone may take "x\0" for the start of UTF-16 and
    // decide later, so the answer would depend on how the network split the bytes.
    if (auto nul = data.find('\0'); nul != std::string_view::npos) {
      if (feed(data.substr(0, nul), events)) fail(ParseError::not_well_formed, "NUL byte in the stream");
      return false;
    }
    if (data.empty()) return true;
    if (!parser && !acquire()) {
      if (error == ParseError::none) throw std::bad_alloc();
      return false;
    }
    out = &events;
    // Sliced so that input with no event in it (an endless start tag, say) is measured
    // against the limit before expat has buffered more: a slice ends at the byte that would
    // cross it, so garbage is refused at the same byte however the network split it.
    while (!data.empty()) {
      const XML_Index room = boundary + static_cast<XML_Index>(limits.max_stanza_bytes) + 1 - fed;
      const std::size_t n = std::min({data.size(), static_cast<std::size_t>(std::max<XML_Index>(room, 1)), kMaxSlice});
      fed += static_cast<XML_Index>(n);
      if (XML_Parse(parser, data.data(), static_cast<int>(n), XML_FALSE) != XML_STATUS_OK) {
        // ABORTED means a handler stopped us and already said why.
        fail(ParseError::not_well_formed,
             "line " + std::to_string(XML_GetCurrentLineNumber(parser)) + ", column " +
                 std::to_string(XML_GetCurrentColumnNumber(parser)) + ": " +
                 XML_ErrorString(XML_GetErrorCode(parser)));
        break;
      }
      if (over_size(fed)) {
        fail(ParseError::policy_violation, size_detail());
        break;
      }
      data.remove_prefix(n);
    }
    out = nullptr;
    return error == ParseError::none;
  }
};

StreamParser::StreamParser(ParserLimits limits) : impl_(std::make_unique<Impl>(limits)) {}

StreamParser::~StreamParser() = default;

bool StreamParser::feed(std::string_view data, std::vector<Event>& out) { return impl_->feed(data, out); }

void StreamParser::reset() { impl_->start(); }

bool StreamParser::release_if_idle() { return impl_->release_if_idle(); }

bool StreamParser::between_stanzas() const {
  const Impl& p = *impl_;
  return p.error == ParseError::none && p.depth == 1 && p.boundary == p.fed && p.text.empty();
}

ParseError StreamParser::error() const { return impl_->error; }

const std::string& StreamParser::error_text() const { return impl_->error_text; }

}  // namespace xmppd::xml

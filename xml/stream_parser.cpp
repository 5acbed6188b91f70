#include "xml/stream_parser.hpp"

#include <expat.h>

#include <algorithm>
#include <new>

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

bool is_whitespace(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace

struct StreamParser::Impl {
  explicit Impl(ParserLimits l) : limits(l), parser(XML_ParserCreateNS("UTF-8", kSeparator)) {
    if (!parser) throw std::bad_alloc();
    start();
  }
  ~Impl() { XML_ParserFree(parser); }

  ParserLimits limits;
  XML_Parser parser;
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

  // Fresh per-stream state and (again, since XML_ParserReset clears them) the handlers.
  void start() {
    error = ParseError::none;
    error_text.clear();
    depth = 0;
    fed = boundary = 0;
    default_ns.clear();
    has_default_ns = false;
    stanza = Element();
    open.clear();
    text.clear();

    XML_SetUserData(parser, this);
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

  bool over_size(XML_Index end) const {
    return static_cast<std::size_t>(end - boundary) > limits.max_stanza_bytes;
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
    if (p.depth != 0 || prefix) return;
    p.has_default_ns = true;
    p.default_ns = uri ? uri : "";
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
    out = &events;
    // Sliced so that input with no event in it (an endless start tag, say) is measured
    // against the limit before expat has buffered much more than the limit.
    const std::size_t slice = std::clamp<std::size_t>(limits.max_stanza_bytes, 1, kMaxSlice);
    while (!data.empty()) {
      const std::size_t n = std::min(slice, data.size());
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

void StreamParser::reset() {
  XML_ParserReset(impl_->parser, "UTF-8");
  impl_->start();
}

ParseError StreamParser::error() const { return impl_->error; }

const std::string& StreamParser::error_text() const { return impl_->error_text; }

}  // namespace xmppd::xml

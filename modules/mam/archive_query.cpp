#include "archive_query.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "archive_policy.hpp"

namespace archive {
namespace {

using xmppd::Element;

std::int64_t micros(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string stamp_of(std::int64_t id) {
  using namespace std::chrono;
  return xmppd::stanza::datetime(time_point_cast<system_clock::duration>(system_clock::time_point(microseconds(id))));
}

std::vector<std::string> values(const Element& field) {
  std::vector<std::string> out;
  for (const Element& n : field.nodes())
    if (n.is("value", kDataForms)) out.push_back(n.text());
  return out;
}

// Reads the form's fields into the request; a refusal if one is wrong.
std::optional<Refusal> read_form(const Element& form, Request& r) {
  for (const Element& field : form.nodes()) {
    if (!field.is("field", kDataForms)) continue;
    std::string var(field.attr_or("var"));
    std::vector<std::string> vals = values(field);
    std::string value = vals.empty() ? std::string() : vals.front();
    if (var == "FORM_TYPE") {
      if (value != kMam) return Refusal{"bad-request", "FORM_TYPE must be " + std::string(kMam)};
    } else if (var == "with") {
      if (value.empty()) continue;
      r.with = xmppd::Jid::parse(value);
      if (!r.with) return Refusal{"bad-request", "'with' is not a JID"};
    } else if (var == "start" || var == "end") {
      if (value.empty()) continue;
      auto when = xmppd::stanza::parse_datetime(value);
      if (!when) return Refusal{"bad-request", "'" + var + "' is not a XEP-0082 DateTime"};
      if (var == "start") r.query.after = std::max(r.query.after, micros(*when) - 1);
      else r.query.before = std::min(r.query.before, micros(*when) + 1);
    } else if (var == "before-id" || var == "after-id") {
      if (value.empty()) continue;
      std::int64_t id = parse_id(value);
      if (id < 0) return Refusal{"item-not-found", "no message " + value + " in this archive"};
      r.named_ids.push_back(id);
      if (var == "before-id") r.query.before = std::min(r.query.before, id);
      else r.query.after = std::max(r.query.after, id);
    } else if (var == "ids") {
      for (const std::string& v : vals) {
        std::int64_t id = parse_id(v);
        if (id >= 0) r.query.ids.push_back(id);
      }
      if (r.query.ids.empty()) r.query.ids.push_back(-1);  // asked for ids, none of them ours: nothing
    } else if (var == std::string("{") + kFulltext + "}fulltext") {
      // Each word a phrase of its own: what the user typed is text, not FTS5 syntax.
      std::string terms;
      std::string word;
      auto add_word = [&] {
        if (word.empty()) return;
        terms += (terms.empty() ? "\"" : " \"") + word + "\"";
        word.clear();
      };
      for (char c : value) {
        if (c == ' ' || c == '\t' || c == '\n') add_word();
        else if (c == '"') word += "\"\"";
        else word += c;
      }
      add_word();
      r.query.fulltext = terms;
    } else {
      return Refusal{"feature-not-implemented", "unknown field '" + var + "'"};
    }
  }
  return std::nullopt;
}

}  // namespace

std::variant<Request, Refusal> parse_request(const Element& query, std::size_t default_page, std::size_t max_page) {
  Request r;
  r.queryid = std::string(query.attr_or("queryid"));
  r.query.max = default_page;
  if (const Element* form = query.child("x", kDataForms)) {
    std::string_view type = form->attr_or("type", "submit");
    if (type != "submit") return Refusal{"bad-request", "the form must be submitted"};
    if (auto refusal = read_form(*form, r)) return *refusal;
  }
  if (const Element* set = query.child("set", kRsm)) {
    if (const Element* max = set->child("max", kRsm)) {
      std::string text = max->text();
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec != std::errc() || end != text.data() + text.size()) return Refusal{"bad-request", "<max/> is not a number"};
      r.query.max = std::min(n, max_page);
    }
    if (set->child("index", kRsm)) return Refusal{"feature-not-implemented", "paging by <index/> is not supported"};
    if (const Element* after = set->child("after", kRsm)) {
      std::int64_t id = parse_id(after->text());
      if (id < 0) return Refusal{"item-not-found", "no message " + after->text() + " in this archive"};
      r.named_ids.push_back(id);
      r.query.page_after = id;
    }
    if (const Element* before = set->child("before", kRsm)) {
      r.query.newest_first = true;
      if (!before->text().empty()) {
        std::int64_t id = parse_id(before->text());
        if (id < 0) return Refusal{"item-not-found", "no message " + before->text() + " in this archive"};
        r.named_ids.push_back(id);
        r.query.page_before = id;
      }
    }
  }
  r.flip_page = query.child("flip-page", kMam) != nullptr;
  return r;
}

Element result_message(const std::string& to, const std::string& archive_jid, const std::string& queryid,
                       const Found& found) {
  Element m("message", xmppd::ns::kClient);
  m.set_attr("to", to);
  m.set_attr("from", archive_jid);
  Element& result = m.add_child("result", kMam);
  if (!queryid.empty()) result.set_attr("queryid", queryid);
  result.set_attr("id", id_text(found.id));
  Element& forwarded = result.add_child("forwarded", kForward);
  forwarded.add_child("delay", kDelay).set_attr("stamp", stamp_of(found.id));
  if (auto original = Element::parse(found.stanza)) forwarded.add_child(std::move(*original));
  return m;
}

Element fin(const Element& iq, const Page& page, bool flip_page) {
  Element reply = xmppd::stanza::iq_result(iq);
  Element& f = reply.add_child("fin", kMam);
  if (page.complete) f.set_attr("complete", "true");
  Element& set = f.add_child("set", kRsm);
  if (!page.items.empty()) {
    const Found& first = flip_page ? page.items.back() : page.items.front();
    const Found& last = flip_page ? page.items.front() : page.items.back();
    set.add_child("first", kRsm).add_text(id_text(first.id));
    set.add_child("last", kRsm).add_text(id_text(last.id));
  }
  if (page.count) set.add_child("count", kRsm).add_text(std::to_string(*page.count));
  return reply;
}

Element query_form(const Element& iq) {
  Element reply = xmppd::stanza::iq_result(iq);
  Element& form = reply.add_child("query", kMam).add_child("x", kDataForms);
  form.set_attr("type", "form");
  Element& type = form.add_child("field", kDataForms);
  type.set_attr("var", "FORM_TYPE");
  type.set_attr("type", "hidden");
  type.add_child("value", kDataForms).add_text(kMam);
  const std::pair<const char*, const char*> fields[] = {
      {"with", "jid-single"},      {"start", "text-single"}, {"end", "text-single"},
      {"before-id", "text-single"}, {"after-id", "text-single"}, {"ids", "text-multi"},
  };
  for (auto [var, kind] : fields) {
    Element& f = form.add_child("field", kDataForms);
    f.set_attr("var", var);
    f.set_attr("type", kind);
  }
  Element& search = form.add_child("field", kDataForms);
  search.set_attr("var", std::string("{") + kFulltext + "}fulltext");
  search.set_attr("type", "text-single");
  search.set_attr("label", "Search for");
  return reply;
}

Element metadata(const Element& iq, std::optional<std::pair<std::int64_t, std::int64_t>> bounds) {
  Element reply = xmppd::stanza::iq_result(iq);
  Element& m = reply.add_child("metadata", kMam);
  if (bounds) {
    for (auto [name, id] : {std::pair{"start", bounds->first}, std::pair{"end", bounds->second}}) {
      Element& e = m.add_child(name, kMam);
      e.set_attr("id", id_text(id));
      e.set_attr("timestamp", stamp_of(id));
    }
  }
  return reply;
}

}  // namespace archive

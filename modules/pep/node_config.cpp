#include "node_config.hpp"

#include <charconv>
#include <sstream>

namespace pep {
namespace {

using xmppd::Element;

std::string_view name_of(Access a) {
  switch (a) {
    case Access::open: return "open";
    case Access::presence: return "presence";
    case Access::roster: return "roster";
    case Access::whitelist: return "whitelist";
  }
  return "presence";
}

std::optional<Access> access_named(std::string_view v) {
  if (v == "open") return Access::open;
  if (v == "presence") return Access::presence;
  if (v == "roster") return Access::roster;
  if (v == "whitelist") return Access::whitelist;
  return std::nullopt;
}

std::string_view name_of(PublishModel m) {
  switch (m) {
    case PublishModel::publishers: return "publishers";
    case PublishModel::subscribers: return "subscribers";
    case PublishModel::open: return "open";
  }
  return "publishers";
}

std::optional<PublishModel> publish_model_named(std::string_view v) {
  if (v == "publishers") return PublishModel::publishers;
  if (v == "subscribers") return PublishModel::subscribers;
  if (v == "open") return PublishModel::open;
  return std::nullopt;
}

std::vector<std::string> values_of(const Element& field) {
  std::vector<std::string> out;
  for (const Element& v : field.nodes())
    if (v.is("value", kDataForms)) out.push_back(v.text());
  return out;
}

// A title is kept on one line (the stored form is key=value lines).
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

std::optional<bool> boolean(std::string_view v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return std::nullopt;
}

std::optional<std::int64_t> max_items_of(std::string_view v) {
  if (v == "max") return kMaxItems;
  std::int64_t n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n < 1) return std::nullopt;
  return n;
}

std::string value_of(const Element& field) { return field.child_text("value", kDataForms); }

std::string max_items_text(std::int64_t n) { return n == kMaxItems ? "max" : std::to_string(n); }

// The field's value in `config`, as a form would carry it; nullopt for a field not known.
std::optional<std::string> current(std::string_view var, const NodeConfig& c) {
  if (var == "pubsub#access_model") return std::string(name_of(c.access));
  if (var == "pubsub#max_items") return max_items_text(c.max_items);
  if (var == "pubsub#persist_items") return c.persist_items ? "true" : "false";
  if (var == "pubsub#notify_retract") return c.notify_retract ? "true" : "false";
  if (var == "pubsub#send_last_published_item") return c.send_last;
  if (var == "pubsub#publish_model") return std::string(name_of(c.publish_model));
  if (var == "pubsub#title") return c.title;
  return std::nullopt;
}

}  // namespace

std::optional<NodeConfig> apply_form(const Element& form, NodeConfig c) {
  for (const Element& f : form.nodes()) {
    if (!f.is("field", kDataForms)) continue;
    std::string_view var = f.attr_or("var");
    std::string v = value_of(f);
    bool ok = true;
    if (var == "FORM_TYPE") {
      ok = v == kNodeConfig || v == kPublishOptions;
    } else if (var == "pubsub#access_model") {
      auto a = access_named(v);
      ok = a.has_value();
      if (a) c.access = *a;
    } else if (var == "pubsub#max_items") {
      auto n = max_items_of(v);
      ok = n.has_value();
      if (n) c.max_items = *n;
    } else if (var == "pubsub#persist_items" || var == "pubsub#notify_retract") {
      auto b = boolean(v);
      ok = b.has_value();
      if (b) (var == "pubsub#persist_items" ? c.persist_items : c.notify_retract) = *b;
    } else if (var == "pubsub#send_last_published_item") {
      ok = v == "never" || v == "on_sub" || v == "on_sub_and_presence";
      c.send_last = v;
    } else if (var == "pubsub#publish_model") {
      auto m = publish_model_named(v);
      ok = m.has_value();
      if (m) c.publish_model = *m;
    } else if (var == "pubsub#roster_groups_allowed") {
      c.roster_groups.clear();
      for (std::string& group : values_of(f))
        if (!group.empty()) c.roster_groups.push_back(one_line(std::move(group)));
    } else if (var == "pubsub#title") {
      c.title = one_line(v);
    }
    if (!ok) return std::nullopt;
  }
  return c;
}

bool preconditions_hold(const Element& form, const NodeConfig& config) {
  for (const Element& f : form.nodes()) {
    if (!f.is("field", kDataForms)) continue;
    std::string_view var = f.attr_or("var");
    if (var == "FORM_TYPE") continue;
    auto have = current(var, config);
    std::string want = value_of(f);
    if (var == "pubsub#persist_items" || var == "pubsub#notify_retract") {
      auto b = boolean(want);
      if (!have || !b || (*have == "true") != *b) return false;
    } else if (!have || *have != want) {
      return false;  // a precondition on a field this node does not have cannot hold
    }
  }
  return true;
}

Element config_form(const NodeConfig& c) {
  Element form("x", kDataForms);
  form.set_attr("type", "form");
  auto field = [&form](const char* var, const char* type, std::string value) -> Element& {
    Element& f = form.add_child("field", kDataForms);
    f.set_attr("var", var);
    if (*type) f.set_attr("type", type);
    f.add_child("value", kDataForms).add_text(std::move(value));
    return f;
  };
  field("FORM_TYPE", "hidden", kNodeConfig);
  Element& access = field("pubsub#access_model", "list-single", std::string(name_of(c.access)));
  for (const char* option : {"open", "presence", "roster", "whitelist"})
    access.add_child("option", kDataForms).add_child("value", kDataForms).add_text(option);
  field("pubsub#max_items", "text-single", max_items_text(c.max_items));
  field("pubsub#persist_items", "boolean", c.persist_items ? "true" : "false");
  field("pubsub#notify_retract", "boolean", c.notify_retract ? "true" : "false");
  Element& last = field("pubsub#send_last_published_item", "list-single", c.send_last);
  for (const char* option : {"never", "on_sub", "on_sub_and_presence"})
    last.add_child("option", kDataForms).add_child("value", kDataForms).add_text(option);
  Element& publish = field("pubsub#publish_model", "list-single", std::string(name_of(c.publish_model)));
  for (const char* option : {"publishers", "subscribers", "open"})
    publish.add_child("option", kDataForms).add_child("value", kDataForms).add_text(option);
  Element& groups = form.add_child("field", kDataForms);
  groups.set_attr("var", "pubsub#roster_groups_allowed");
  groups.set_attr("type", "list-multi");
  for (const std::string& group : c.roster_groups) groups.add_child("value", kDataForms).add_text(group);
  field("pubsub#title", "text-single", c.title);
  return form;
}

std::string serialize(const NodeConfig& c) {
  std::string text = "access=" + std::string(name_of(c.access)) + "\nmax_items=" + max_items_text(c.max_items) +
         "\npersist_items=" + (c.persist_items ? "1" : "0") + "\nnotify_retract=" + (c.notify_retract ? "1" : "0") +
         "\nsend_last=" + c.send_last + "\npublish_model=" + std::string(name_of(c.publish_model)) +
         "\ntitle=" + c.title + "\n";
  for (const std::string& group : c.roster_groups) text += "roster_group=" + group + "\n";
  return text;
}

NodeConfig deserialize(std::string_view text) {
  NodeConfig c;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string key = line.substr(0, eq), v = line.substr(eq + 1);
    if (key == "access") c.access = access_named(v).value_or(Access::presence);
    else if (key == "max_items") c.max_items = max_items_of(v).value_or(1);
    else if (key == "persist_items") c.persist_items = v == "1";
    else if (key == "notify_retract") c.notify_retract = v == "1";
    else if (key == "send_last") c.send_last = v;
    else if (key == "publish_model") c.publish_model = publish_model_named(v).value_or(PublishModel::publishers);
    else if (key == "title") c.title = v;
    else if (key == "roster_group") c.roster_groups.push_back(v);
  }
  return c;
}

}  // namespace pep

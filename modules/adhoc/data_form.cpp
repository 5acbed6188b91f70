#include "data_form.hpp"

namespace xmppd::adhoc {

Element make_form(std::string_view type, std::string_view form_type, std::string_view title,
                  const std::vector<Field>& fields) {
  Element form("x", kDataForms);
  form.set_attr("type", std::string(type));
  if (!title.empty()) form.add_child("title", kDataForms).add_text(std::string(title));
  Element& hidden = form.add_child("field", kDataForms);
  hidden.set_attr("var", "FORM_TYPE");
  hidden.set_attr("type", "hidden");
  hidden.add_child("value", kDataForms).add_text(std::string(form_type));
  for (const Field& f : fields) {
    Element& field = form.add_child("field", kDataForms);
    field.set_attr("var", f.var);
    if (!f.type.empty()) field.set_attr("type", f.type);
    if (!f.label.empty()) field.set_attr("label", f.label);
    if (f.required) field.add_child("required", kDataForms);
    for (const auto& v : f.values) field.add_child("value", kDataForms).add_text(v);
  }
  return form;
}

std::optional<Submission> Submission::from(const Element& parent) {
  const Element* form = parent.child("x", kDataForms);
  if (!form || form->attr_or("type") != "submit") return std::nullopt;
  Submission out;
  for (const Element& field : form->nodes()) {
    if (!field.is("field", kDataForms)) continue;
    auto& values = out.fields_[std::string(field.attr_or("var"))];
    for (const Element& value : field.nodes())
      if (value.is("value", kDataForms)) values.push_back(value.text());
  }
  return out;
}

std::string Submission::value(const std::string& var) const {
  auto it = fields_.find(var);
  return it == fields_.end() || it->second.empty() ? std::string() : it->second.front();
}

std::vector<std::string> Submission::values(const std::string& var) const {
  auto it = fields_.find(var);
  return it == fields_.end() ? std::vector<std::string>() : it->second;
}

}  // namespace xmppd::adhoc

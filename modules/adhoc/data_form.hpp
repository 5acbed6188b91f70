// XEP-0004 data forms, as much as the admin commands need: build a form, read a submission.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <xmppd/element.hpp>

namespace xmppd::adhoc {

inline constexpr const char* kDataForms = "jabber:x:data";

struct Field {
  std::string var;
  std::string type;  // "jid-single", "text-private", ...
  std::string label;
  bool required = false;
  std::vector<std::string> values;
};

// <x xmlns='jabber:x:data' type=`type`> with a hidden FORM_TYPE field and the fields.
Element make_form(std::string_view type, std::string_view form_type, std::string_view title,
                  const std::vector<Field>& fields);

// What a client submitted: each field's values by name.
class Submission {
 public:
  // The submitted form in `parent`; nullopt if there is none, or it is not type='submit'.
  static std::optional<Submission> from(const Element& parent);

  std::string value(const std::string& var) const;  // first value, or empty
  std::vector<std::string> values(const std::string& var) const;

 private:
  std::map<std::string, std::vector<std::string>, std::less<>> fields_;
};

}  // namespace xmppd::adhoc

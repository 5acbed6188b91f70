#include "room_config.hpp"

#include <charconv>
#include <string_view>

namespace muc {
namespace {

using xmppd::Element;

constexpr const char* kName = "muc#roomconfig_roomname";
constexpr const char* kDescription = "muc#roomconfig_roomdesc";
constexpr const char* kPersistent = "muc#roomconfig_persistentroom";
constexpr const char* kEnableLogging = "muc#roomconfig_enablelogging";
constexpr const char* kPublic = "muc#roomconfig_publicroom";
constexpr const char* kMembersOnly = "muc#roomconfig_membersonly";
constexpr const char* kModerated = "muc#roomconfig_moderatedroom";
constexpr const char* kPasswordProtected = "muc#roomconfig_passwordprotectedroom";
constexpr const char* kSecret = "muc#roomconfig_roomsecret";
constexpr const char* kWhois = "muc#roomconfig_whois";
constexpr const char* kMaxUsers = "muc#roomconfig_maxusers";
constexpr const char* kChangeSubject = "muc#roomconfig_changesubject";
constexpr const char* kAllowInvites = "muc#roomconfig_allowinvites";
constexpr const char* kGetMemberList = "muc#roomconfig_getmemberlist";

Element& field(Element& form, std::string var, std::string type, std::string label) {
  Element& f = form.add_child("field", kDataForms);
  f.set_attr("var", std::move(var));
  if (!type.empty()) f.set_attr("type", std::move(type));
  if (!label.empty()) f.set_attr("label", std::move(label));
  return f;
}

Element& value(Element& f, std::string v) {
  f.add_child("value", kDataForms).add_text(std::move(v));
  return f;
}

void option(Element& f, std::string label, std::string v) {
  Element& o = f.add_child("option", kDataForms);
  o.set_attr("label", std::move(label));
  value(o, std::move(v));
}

Element form_of(const RoomConfig& c, std::string type, bool with_labels) {
  auto label = [with_labels](const char* text) { return with_labels ? std::string(text) : std::string(); };
  auto type_of = [with_labels](const char* t) { return with_labels ? std::string(t) : std::string(); };
  Element form("x", kDataForms);
  form.set_attr("type", std::move(type));
  if (with_labels) form.add_child("title", kDataForms).add_text("Room configuration");
  value(field(form, "FORM_TYPE", "hidden", ""), kRoomConfigFormType);
  value(field(form, kName, type_of("text-single"), label("Name")), c.name);
  value(field(form, kDescription, type_of("text-single"), label("Description")), c.description);
  auto flag = [&](const char* var, const char* text, bool on) {
    value(field(form, var, type_of("boolean"), label(text)), on ? "1" : "0");
  };
  flag(kPersistent, "Keep the room when the last occupant leaves", c.persistent);
  flag(kPublic, "List the room in the directory", c.public_room);
  flag(kMembersOnly, "Only members may enter", c.members_only);
  flag(kModerated, "Only participants with voice may speak", c.moderated);
  flag(kPasswordProtected, "Require a password to enter", c.password_protected);
  value(field(form, kSecret, type_of("text-private"), label("Password")), c.password);
  Element& whois = value(field(form, kWhois, type_of("list-single"), label("Who may see real JIDs")),
                         c.non_anonymous ? "anyone" : "moderators");
  if (with_labels) {
    option(whois, "Moderators only", "moderators");
    option(whois, "Anyone", "anyone");
  }
  value(field(form, kMaxUsers, type_of("text-single"), label("Maximum number of occupants")),
        std::to_string(c.max_occupants));
  flag(kChangeSubject, "Occupants may change the subject", c.occupants_change_subject);
  flag(kAllowInvites, "Occupants may invite others to a members-only room", c.occupants_invite);
  flag(kEnableLogging, "Keep a message archive (persistent rooms)", c.enable_logging);
  Element& members = field(form, kGetMemberList, type_of("list-multi"), label("Roles that may read the member list"));
  for (const std::string& role : c.member_list_roles) value(members, role);
  if (with_labels)
    for (const char* role : {"moderator", "participant", "visitor"}) option(members, role, role);
  return form;
}

std::optional<bool> boolean(std::string_view v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return std::nullopt;
}

}  // namespace

Element config_form(const RoomConfig& config, std::int64_t service_max) {
  Element form = form_of(config, "form", true);
  for (Element& f : form.nodes())
    if (f.attr_or("var") == kMaxUsers)
      f.add_child("desc", kDataForms).add_text("1 to " + std::to_string(service_max));
  return form;
}

Element config_submission(const RoomConfig& config) { return form_of(config, "submit", false); }

std::optional<RoomConfig> apply_config_form(const Element& form, RoomConfig c, std::int64_t service_max) {
  std::optional<bool> protection;  // passwordprotectedroom, if the form says
  for (const Element& f : form.nodes()) {
    if (!f.is("field", kDataForms)) continue;
    std::string_view var = f.attr_or("var");
    std::string v = f.child_text("value", kDataForms);
    auto set_flag = [&v](bool& target) {
      auto b = boolean(v);
      if (b) target = *b;
      return b.has_value();
    };
    bool ok = true;
    if (var == "FORM_TYPE") ok = v == kRoomConfigFormType;
    else if (var == kName) c.name = v;
    else if (var == kDescription) c.description = v;
    else if (var == kPersistent) ok = set_flag(c.persistent);
    else if (var == kPublic) ok = set_flag(c.public_room);
    else if (var == kMembersOnly) ok = set_flag(c.members_only);
    else if (var == kModerated) ok = set_flag(c.moderated);
    else if (var == kPasswordProtected) {
      ok = set_flag(c.password_protected);
      protection = c.password_protected;
    }
    else if (var == kSecret) c.password = v;
    else if (var == kChangeSubject) ok = set_flag(c.occupants_change_subject);
    else if (var == kAllowInvites) ok = set_flag(c.occupants_invite);
    else if (var == kEnableLogging) ok = set_flag(c.enable_logging);
    else if (var == kGetMemberList) {
      c.member_list_roles.clear();
      for (const Element& r : f.nodes()) {
        if (!r.is("value", kDataForms)) continue;
        std::string role = r.text();
        ok = ok && (role == "moderator" || role == "participant" || role == "visitor");
        c.member_list_roles.insert(role);
      }
    }
    else if (var == kWhois) {
      ok = v == "anyone" || v == "moderators";
      c.non_anonymous = v == "anyone";
    } else if (var == kMaxUsers) {
      std::int64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      ok = ec == std::errc() && end == v.data() + v.size() && n >= 1 && n <= service_max;
      c.max_occupants = n;
    }
    if (!ok) return std::nullopt;
  }
  // The password and the flag stay consistent, as clients expect: a password alone protects
  // the room; switching protection off removes the password.
  if (protection == false) c.password.clear();
  else if (!c.password.empty()) c.password_protected = true;
  if (c.password_protected && c.password.empty()) return std::nullopt;
  return c;
}

}  // namespace muc

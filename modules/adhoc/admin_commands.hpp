// The XEP-0133 service administration commands this server offers, each a form to fill
// in and the action to take once it is submitted.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/module.hpp>

#include "data_form.hpp"

namespace xmppd::adhoc {

inline constexpr const char* kAdminForms = "http://jabber.org/protocol/admin";

// How a submitted command ended: a stanza error condition, or success with a note for the
// admin and possibly a result form.
struct Outcome {
  std::string error;  // RFC 6120 condition; empty on success
  std::string note;
  std::optional<Element> result;
};

struct AdminContext {
  ModuleContext& ctx;
};

struct AdminCommand {
  std::string node;
  std::string name;
  std::vector<Field> fields;  // of the form the admin fills in
  boost::asio::awaitable<Outcome> (*run)(AdminContext&, const Submission&);
};

const std::vector<AdminCommand>& admin_commands();

}  // namespace xmppd::adhoc

#include "admin_commands.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <xmppd/namespaces.hpp>

#include "auth/scram.hpp"
#include "storage/storage_thread.hpp"

namespace xmppd::adhoc {
namespace {

namespace asio = boost::asio;

Outcome failed(std::string condition, std::string note) { return Outcome{std::move(condition), std::move(note), {}}; }
Outcome done(std::string note) { return Outcome{{}, std::move(note), {}}; }

// An account JID of this host, or nullopt.
std::optional<Jid> local_account(const AdminContext& a, const std::string& text) {
  auto jid = Jid::parse(text);
  if (!jid || jid->node().empty() || !jid->is_bare() || jid->domain() != a.ctx.host()) return std::nullopt;
  return jid;
}

asio::awaitable<Outcome> add_user(AdminContext& a, const Submission& form) {
  auto account = local_account(a, form.value("accountjid"));
  if (!account) co_return failed("not-acceptable", "The JID must be an account of " + a.ctx.host());
  if (form.value("password") != form.value("password-verify"))
    co_return failed("not-acceptable", "The passwords differ");
  auto secrets = a.ctx.password_secrets(form.value("password"));
  if (!secrets) co_return failed("not-acceptable", "Unusable password");
  auto create = [&account, &secrets](storage::Storage& s) {
    return s.accounts().create(account->node(), account->domain(), *secrets);
  };
  bool created = co_await a.ctx.storage().run(create);
  if (!created) co_return failed("conflict", account->bare_str() + " already exists");
  co_return done("Added " + account->bare_str());
}

asio::awaitable<Outcome> delete_user(AdminContext& a, const Submission& form) {
  std::vector<Jid> accounts;
  for (const auto& text : form.values("accountjids")) {
    auto account = local_account(a, text);
    if (!account) co_return failed("not-acceptable", "Not an account of " + a.ctx.host() + ": " + text);
    accounts.push_back(std::move(*account));
  }
  if (accounts.empty()) co_return failed("not-acceptable", "No account named");
  auto remove = [&accounts](storage::Storage& s) {
    std::vector<Jid> removed;
    for (const Jid& account : accounts)
      if (s.accounts().remove(account.node(), account.domain())) removed.push_back(account);
    return removed;
  };
  std::vector<Jid> removed = co_await a.ctx.storage().run(remove);
  std::string note = "Deleted:";
  for (const Jid& account : removed) {
    a.ctx.account_deleted(account);
    note += " " + account.bare_str();
  }
  if (removed.size() != accounts.size()) co_return failed("item-not-found", note + " (the others do not exist)");
  co_return done(note);
}

asio::awaitable<Outcome> change_password(AdminContext& a, const Submission& form) {
  auto account = local_account(a, form.value("accountjid"));
  if (!account) co_return failed("not-acceptable", "The JID must be an account of " + a.ctx.host());
  auto secrets = a.ctx.password_secrets(form.value("password"));
  if (!secrets) co_return failed("not-acceptable", "Unusable password");
  auto change = [&account, &secrets](storage::Storage& s) {
    return s.accounts().set_secrets(account->node(), account->domain(), *secrets);
  };
  bool changed = co_await a.ctx.storage().run(change);
  if (!changed) co_return failed("item-not-found", account->bare_str() + " does not exist");
  co_return done("Changed the password of " + account->bare_str());
}

asio::awaitable<Outcome> online_users(AdminContext& a, const Submission& form) {
  std::set<std::string> users;
  for (const Jid& session : a.ctx.all_sessions()) users.insert(session.bare_str());
  std::string max = form.value("max_items");
  std::size_t limit = users.size();
  if (!max.empty() && max != "all") {
    try {
      limit = std::min<std::size_t>(limit, std::stoul(max));
    } catch (const std::exception&) {
      co_return failed("not-acceptable", "max_items must be a number or \"all\"");
    }
  }
  Field list{"onlineuserjids", "jid-multi", "The online users", false,
             std::vector<std::string>(users.begin(), std::next(users.begin(), std::ptrdiff_t(limit)))};
  Outcome outcome = done(std::to_string(users.size()) + " user(s) online");
  outcome.result = make_form("result", kAdminForms, "Online users", {list});
  co_return outcome;
}

asio::awaitable<Outcome> announce(AdminContext& a, const Submission& form) {
  std::string body;
  for (const auto& line : form.values("announcement")) body += (body.empty() ? "" : "\n") + line;
  if (body.empty()) co_return failed("not-acceptable", "The announcement is empty");
  std::string subject = form.value("subject");
  auto sessions = a.ctx.all_sessions();
  for (const Jid& session : sessions) {
    Element message("message", ns::kClient);
    message.set_attr("from", a.ctx.host());
    message.set_attr("to", session.str());
    message.set_attr("type", "headline");
    if (!subject.empty()) message.add_child("subject", ns::kClient).add_text(subject);
    message.add_child("body", ns::kClient).add_text(body);
    a.ctx.send(std::move(message));
  }
  co_return done("Sent to " + std::to_string(sessions.size()) + " session(s)");
}

constexpr const char* kPrefix = "http://jabber.org/protocol/admin#";

}  // namespace

const std::vector<AdminCommand>& admin_commands() {
  static const std::vector<AdminCommand> commands{
      {std::string(kPrefix) + "add-user", "Add a User",
       {{"accountjid", "jid-single", "The Jabber ID for the account to be added", true, {}},
        {"password", "text-private", "The password for this account", true, {}},
        {"password-verify", "text-private", "Retype password", true, {}}},
       add_user},
      {std::string(kPrefix) + "delete-user", "Delete a User",
       {{"accountjids", "jid-multi", "The Jabber ID(s) to delete", true, {}}},
       delete_user},
      {std::string(kPrefix) + "change-user-password", "Change User Password",
       {{"accountjid", "jid-single", "The Jabber ID for this account", true, {}},
        {"password", "text-private", "The new password for this account", true, {}}},
       change_password},
      {std::string(kPrefix) + "get-online-users-list", "Get List of Online Users",
       {{"max_items", "list-single", "Maximum number of items to show", false, {}}},
       online_users},
      {std::string(kPrefix) + "announce", "Send Announcement to Online Users",
       {{"subject", "text-single", "Subject", false, {}},
        {"announcement", "text-multi", "Announcement", true, {}}},
       announce},
  };
  return commands;
}

}  // namespace xmppd::adhoc

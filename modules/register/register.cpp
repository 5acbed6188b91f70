// XEP-0077: In-Band Registration. Before authentication: create an account (when the
// host allows it, a few per client address and hour, and not under a name deleted lately).
// After: change one's password, or delete one's account.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "auth/scram.hpp"
#include "deleted_names.hpp"
#include "registration_limiter.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using xmppd::Element;
using xmppd::Jid;

constexpr const char* kRegister = "jabber:iq:register";
constexpr const char* kRegisterFeature = "http://jabber.org/features/iq-register";

using Reply = std::function<void(Element)>;

class RegisterModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    allow_registration_ = ctx.config().boolean("allow_registration", false);
    limiter_ = std::make_unique<xmppd::registration::RegistrationLimiter>(
        unsigned(ctx.config().integer("max_per_ip_per_hour", 5, 1, 1000000)));
    hold_ = ctx.config().duration("hold_deleted_names", std::chrono::days(30));
    deleted_ = ctx.storage().call([](xmppd::storage::Storage& s) {
      return std::make_shared<xmppd::registration::DeletedNames>(s.database());
    });

    ctx.add_feature(kRegister);
    ctx.on_unauthenticated_iq(kRegister, [this](Element iq, const std::string& address, Reply reply) {
      on_unauthenticated(std::move(iq), address, std::move(reply));
    });
    if (allow_registration_) {
      ctx.add_stream_feature([](Element& features, bool authenticated) {
        if (!authenticated) features.add_child("register", kRegisterFeature);
      });
    }
    // Clients address these to their account or to the server: both mean "my account".
    for (auto target : {xmppd::IqTarget::account, xmppd::IqTarget::server}) {
      ctx.on_iq(target, "get", kRegister, [this](Element iq) { on_account_get(std::move(iq)); });
      ctx.on_iq(target, "set", kRegister, [this](Element iq) { on_account_set(std::move(iq)); });
    }
  }

 private:
  // Before authentication ----------------------------------------------------------------

  void on_unauthenticated(Element iq, const std::string& address, Reply reply) {
    if (!allow_registration_) return reply(xmppd::stanza::error(iq, "service-unavailable"));
    const Element* query = iq.child("query", kRegister);
    if (!query) return reply(xmppd::stanza::error(iq, "bad-request"));
    if (iq.attr_or("type") == "get") return reply(registration_form(iq));
    if (query->child("remove", kRegister)) return reply(xmppd::stanza::error(iq, "not-allowed"));

    // §3.1: both fields are required, and the username must be a valid localpart.
    auto user = Jid::nodeprep(query->child_text("username", kRegister));
    std::string password = query->child_text("password", kRegister);
    if (!user || user->empty() || !Jid::make(*user, ctx_->host()))
      return reply(xmppd::stanza::error(iq, "not-acceptable", "Invalid username"));
    auto secrets = ctx_->password_secrets(password);
    if (!secrets) return reply(xmppd::stanza::error(iq, "not-acceptable", "Invalid password"));
    if (!limiter_->claim(address))
      return reply(xmppd::stanza::error(iq, "resource-constraint", "Too many registrations; try again later"));

    auto task = [this, iq = std::move(iq), address, user = *user, secrets = std::move(*secrets),
                 reply = std::move(reply)]() mutable -> asio::awaitable<void> {
      enum class Outcome { created, taken, held };
      auto create = [&user, &secrets, domain = ctx_->host(), deleted = deleted_, hold = hold_](xmppd::storage::Storage& s) {
        if (deleted->held(user, domain, hold)) return Outcome::held;
        return s.accounts().create(user, domain, secrets) ? Outcome::created : Outcome::taken;
      };
      std::optional<Outcome> outcome;
      try {
        outcome = co_await ctx_->storage().run(create);
      } catch (const std::exception&) {
      }
      if (outcome != Outcome::created) limiter_->release(address);
      if (!outcome) co_return reply(xmppd::stanza::error(iq, "internal-server-error"));
      if (*outcome == Outcome::taken) co_return reply(xmppd::stanza::error(iq, "conflict", "That username is taken"));
      if (*outcome == Outcome::held)
        co_return reply(xmppd::stanza::error(iq, "conflict", "That username belonged to an account deleted lately"));
      reply(xmppd::stanza::iq_result(iq));
    };
    ctx_->spawn(std::move(task));
  }

  static Element registration_form(const Element& iq) {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kRegister);
    query.add_child("instructions", kRegister).add_text("Choose a username and password for your new account.");
    query.add_child("username", kRegister);
    query.add_child("password", kRegister);
    return reply;
  }

  // After authentication: the user's own account ------------------------------------------

  // The sender, if the IQ is about the sender's own account.
  std::optional<Jid> own_account(const Element& iq) const {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || !to) return std::nullopt;
    bool to_own = to->bare() == from->bare() || (to->node().empty() && to->domain() == from->domain());
    return to_own ? from : std::nullopt;
  }

  void on_account_get(Element iq) {
    auto from = own_account(iq);
    if (!from || !iq.child("query", kRegister)) return ctx_->send(xmppd::stanza::error(iq, "service-unavailable"));
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kRegister);
    query.add_child("registered", kRegister);
    query.add_child("username", kRegister).add_text(from->node());
    query.add_child("password", kRegister);
    ctx_->send(std::move(reply));
  }

  void on_account_set(Element iq) {
    auto from = own_account(iq);
    const Element* query = iq.child("query", kRegister);
    if (!from || !query) return ctx_->send(xmppd::stanza::error(iq, "service-unavailable"));
    if (query->child("remove", kRegister)) return remove_account(std::move(iq), from->bare());

    // §3.3: a password change names the account itself.
    auto user = Jid::nodeprep(query->child_text("username", kRegister));
    if (!user || *user != from->node()) return ctx_->send(xmppd::stanza::error(iq, "bad-request", "Not your username"));
    auto secrets = ctx_->password_secrets(query->child_text("password", kRegister));
    if (!secrets) return ctx_->send(xmppd::stanza::error(iq, "not-acceptable", "Invalid password"));

    auto task = [this, iq = std::move(iq), account = from->bare(),
                 secrets = std::move(*secrets)]() mutable -> asio::awaitable<void> {
      auto change = [&account, &secrets](xmppd::storage::Storage& s) {
        return s.accounts().set_secrets(account.node(), account.domain(), secrets);
      };
      bool changed = false;
      try {
        changed = co_await ctx_->storage().run(change);
      } catch (const std::exception&) {
      }
      ctx_->send(changed ? xmppd::stanza::iq_result(iq) : xmppd::stanza::error(iq, "internal-server-error"));
    };
    ctx_->spawn(std::move(task));
  }

  // §3.2: the account and (through the storage's cascades) all its data go; then its
  // sessions end.
  void remove_account(Element iq, Jid account) {
    auto task = [this, iq = std::move(iq), account = std::move(account)]() mutable -> asio::awaitable<void> {
      auto remove = [&account](xmppd::storage::Storage& s) { return s.accounts().remove(account.node(), account.domain()); };
      bool removed = false;
      try {
        removed = co_await ctx_->storage().run(remove);
      } catch (const std::exception&) {
      }
      if (!removed) co_return ctx_->send(xmppd::stanza::error(iq, "internal-server-error"));
      ctx_->send(xmppd::stanza::iq_result(iq));
      ctx_->account_deleted(account);
    };
    ctx_->spawn(std::move(task));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  bool allow_registration_ = false;
  std::chrono::seconds hold_{0};                                  // [modules.register] hold_deleted_names
  std::shared_ptr<xmppd::registration::DeletedNames> deleted_;  // used on the storage thread only
  std::unique_ptr<xmppd::registration::RegistrationLimiter> limiter_;
};

}  // namespace

XMPPD_MODULE("register", RegisterModule);

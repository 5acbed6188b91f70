#include "module/host_context.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <toml++/toml.h>

#include <algorithm>
#include <stdexcept>

#include "auth/scram.hpp"
#include "net/http/http_server.hpp"
#include "common/log.hpp"
#include "router/audience.hpp"
#include "router/router.hpp"
#include "router/stanza_cause.hpp"

#include <xmppd/stanza.hpp>

namespace xmppd::module {

void HostContext::send(Element stanza) { router_.route(std::move(stanza)); }

bool HostContext::replace_settings(std::shared_ptr<const toml::table> settings) {
  auto own = [this](const std::shared_ptr<const toml::table>& all) -> const toml::table* {
    return all ? all->get_as<toml::table>(module_) : nullptr;
  };
  const toml::table *before = own(settings_), *after = own(settings);
  bool changed = (before == nullptr) != (after == nullptr) || (before && !(*before == *after));
  settings_ = std::move(settings);
  config_ = std::make_unique<ModuleConfig>(settings_, module_, file_);
  return changed;
}

void HostContext::send_to_many(const Element& stanza, const std::vector<Jid>& recipients) {
  router_.route_to_many(stanza, recipients);
}

std::unique_ptr<Audience> HostContext::audience(std::vector<Jid> recipients) {
  return std::make_unique<router::SessionAudience>(router_, std::move(recipients));
}

boost::asio::any_io_executor HostContext::add_component(std::string domain, ComponentHandler handler) {
  auto strand = router_.add_component(domain, executor_, std::move(handler));
  host_.components.push_back(std::move(domain));
  return strand;
}

void HostContext::on_iq(IqTarget target, std::string type, std::string ns, IqHandler handler) {
  std::string key = type + ' ' + ns;
  if (!host_.iq_handlers.emplace(std::pair{target, key}, std::move(handler)).second)
    throw std::logic_error("two modules handle " + key + " on " + host_.domain);
}

void HostContext::on_unauthenticated_iq(std::string ns, UnauthenticatedIqHandler handler) {
  host_.unauthenticated_iq[std::move(ns)] = std::move(handler);
}

void HostContext::add_feature(std::string ns) {
  if (std::find(host_.features.begin(), host_.features.end(), ns) == host_.features.end())
    host_.features.push_back(std::move(ns));
}

void HostContext::add_account_feature(std::string ns) {
  if (std::find(host_.account_features.begin(), host_.account_features.end(), ns) == host_.account_features.end())
    host_.account_features.push_back(std::move(ns));
}

void HostContext::resubmit(Element stanza) {
  auto from = Jid::parse(stanza.attr_or("from"));
  if (!from) return;
  const std::string* to_attr = stanza.attr("to");
  std::optional<Jid> to = (to_attr && !to_attr->empty()) ? Jid::parse(*to_attr) : from->bare();
  if (!to) return router_.route(std::move(stanza));  // bounces jid-malformed
  StanzaEvent event{stanza, *from, *to};
  if (host_.outgoing.run(event) == HookResult::handled) return;
  router_.route(std::move(stanza), *from, *to);
}

namespace {
Element identity(std::string category, std::string type, std::string name) {
  Element e("identity", "http://jabber.org/protocol/disco#info");
  e.set_attr("category", std::move(category));
  e.set_attr("type", std::move(type));
  if (!name.empty()) e.set_attr("name", std::move(name));
  return e;
}
}  // namespace

void HostContext::add_identity(std::string category, std::string type, std::string name) {
  host_.identities.push_back(identity(std::move(category), std::move(type), std::move(name)));
}

void HostContext::add_account_identity(std::string category, std::string type, std::string name) {
  host_.account_identities.push_back(identity(std::move(category), std::move(type), std::move(name)));
}

std::vector<Jid> HostContext::sessions_of(const Jid& bare) const {
  std::vector<Jid> out;
  for (const auto& s : router_.sessions_of(bare)) out.push_back(s->jid());
  return out;
}

std::vector<Jid> HostContext::all_sessions() const {
  std::vector<Jid> out;
  for (const auto& s : router_.sessions_on(host_.domain)) out.push_back(s->jid());
  return out;
}

bool HostContext::is_admin(const Jid& jid) const {
  Jid bare = jid.bare();
  return std::find(host_.admins.begin(), host_.admins.end(), bare) != host_.admins.end();
}

void HostContext::set_available(const Jid& full, bool available, int priority) {
  if (auto s = router_.find(full)) router_.set_presence(*s, available, priority);
}

std::optional<std::vector<auth::ScramSecret>> HostContext::password_secrets(std::string_view password) const {
  return auth::make_secrets(password, scram_iterations_);
}

namespace {
// Completion of a module's coroutine: say what went wrong, in the module's name.
auto log_failure(std::string module) {
  return [module = std::move(module)](std::exception_ptr error) {
    if (!error) return;
    try {
      std::rethrow_exception(error);
    } catch (const std::exception& e) {
      log::error(module, ": ", e.what());
    }
  };
}
}  // namespace

void HostContext::spawn(std::function<boost::asio::awaitable<void>()> task) {
  boost::asio::co_spawn(executor_, std::move(task), log_failure(module_));
}

void HostContext::spawn(boost::asio::awaitable<void> task) {
  boost::asio::co_spawn(executor_, std::move(task), log_failure(module_));
}

void HostContext::spawn(boost::asio::any_io_executor executor, boost::asio::awaitable<void> task) {
  boost::asio::co_spawn(std::move(executor), std::move(task), log_failure(module_));
}

std::shared_ptr<void> HostContext::output_hold() { return router::StanzaCause::hold(); }

void HostContext::send_iq(Element iq, std::function<void(const Element& reply)> on_reply,
                          std::chrono::milliseconds timeout) {
  auto to = Jid::parse(iq.attr_or("to"));
  auto from = Jid::parse(iq.attr_or("from"));
  if (!to || !from) throw std::invalid_argument("send_iq: the request needs a valid 'to' and 'from'");
  std::string id = router_.new_request_id();
  iq.set_attr("id", id);
  // Whichever comes first, the reply or the timer, takes the handler from the router.
  auto timer = std::make_shared<boost::asio::steady_timer>(executor_, timeout);
  auto handler = [executor = executor_, timer, on_reply = std::move(on_reply)](Element reply) {
    timer->cancel();
    boost::asio::post(executor, [on_reply, reply = std::move(reply)] { on_reply(reply); });
  };
  Element timed_out = stanza::error(iq, "remote-server-timeout", "No answer in time");
  router_.expect_reply(id, *to, std::move(handler));
  timer->async_wait([this, id, timed_out = std::move(timed_out), timer](boost::system::error_code ec) {
    if (ec) return;
    if (auto h = router_.take_reply_handler(id)) (*h)(timed_out);
  });
  router_.route(std::move(iq), *from, *to);
}

void HostContext::account_deleted(const Jid& bare) {
  if (Host* host = router_.host(bare.domain())) {
    AccountEvent event{bare};
    host->account_deleted.run(event);
  }
  for (const auto& s : router_.sessions_of(bare))
    boost::asio::dispatch(s->executor(), [s] { s->end("not-authorized", "Account removed"); });
}

void HostContext::add_http_route(std::string path, HttpHandler handler) {
  if (!http_.listening())
    throw std::runtime_error("module " + module_ + " serves HTTP: add an [[http.listen]] to the config");
  http_.route(std::move(path), [handler = std::move(handler)](net::http::Exchange& exchange) { return handler(exchange); });
}

std::string HostContext::http_url() const { return http_.url_for(host_.domain); }

}  // namespace xmppd::module

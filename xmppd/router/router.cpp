#include "router/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>

#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "router/stanza_cause.hpp"
#include "storage/storage_thread.hpp"
#include "xml/serializer.hpp"

namespace asio = boost::asio;

namespace xmppd::router {

Router::Router(const std::vector<std::string>& local_domains, storage::StorageThread& storage,
               asio::any_io_executor background)
    : storage_(storage), background_(std::move(background)) {
  for (const auto& d : local_domains) hosts_.emplace(d, std::make_unique<module::Host>(d));
}

Router::Shard& Router::shard_of(const std::string& bare) const {
  return shards_[std::hash<std::string>{}(bare) % shards_.size()];
}

asio::any_io_executor Router::add_component(std::string domain, asio::any_io_executor executor,
                                            ModuleContext::ComponentHandler handler) {
  if (hosts_.contains(domain) || components_.contains(domain))
    throw std::logic_error("the domain " + domain + " is already served");
  asio::any_io_executor strand = asio::make_strand(std::move(executor));
  components_.emplace(std::move(domain), Component{strand, std::move(handler)});
  return strand;
}

// Session table ----------------------------------------------------------------------------

void Router::bind(const std::shared_ptr<Session>& session) {
  const Jid& jid = session->jid();
  std::string bare = jid.bare_str();
  std::shared_ptr<Session> old;
  {
    Shard& shard = shard_of(bare);
    std::lock_guard lock(shard.mutex);
    auto& entries = shard.users[bare];
    auto it = std::find_if(entries.begin(), entries.end(),
                           [&](const Entry& e) { return e.resource == jid.resource(); });
    if (it != entries.end()) {
      old = std::move(it->session);
      old->routed_.store(false, std::memory_order_release);
      *it = Entry{jid.resource(), session};
    } else {
      entries.push_back(Entry{jid.resource(), session});
    }
    session->routed_.store(true, std::memory_order_release);
  }
  if (old) asio::dispatch(old->executor(), [old] { old->replaced(); });
}

void Router::unbind(const Session& session) {
  std::string bare = session.jid().bare_str();
  Shard& shard = shard_of(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
  if (it == shard.users.end()) return;
  auto removed = std::erase_if(it->second, [&](const Entry& e) { return e.session.get() == &session; });
  if (removed) session.routed_.store(false, std::memory_order_release);
  if (it->second.empty()) shard.users.erase(it);
}

void Router::set_presence(const Session& session, bool available, int priority) {
  std::string bare = session.jid().bare_str();
  Shard& shard = shard_of(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
  if (it == shard.users.end()) return;
  for (Entry& e : it->second) {
    if (e.session.get() == &session) {
      e.available = available;
      e.priority = priority;
    }
  }
}

std::shared_ptr<Session> Router::find(const Jid& full) const {
  // On every delivery (once per recipient of a room message): the key is built in a
  // buffer the thread keeps, not allocated each time.
  thread_local std::string bare;
  bare.assign(full.node());
  if (!bare.empty()) bare += '@';
  bare.append(full.domain());
  Shard& shard = shard_of(bare);
  std::lock_guard lock(shard.mutex);
  auto it = shard.users.find(bare);
  if (it == shard.users.end()) return nullptr;
  for (const Entry& e : it->second)
    if (e.resource == full.resource()) return e.session;
  return nullptr;
}

std::vector<std::shared_ptr<Session>> Router::sessions_of(const Jid& bare) const {
  std::string key = bare.bare_str();
  Shard& shard = shard_of(key);
  std::lock_guard lock(shard.mutex);
  std::vector<std::shared_ptr<Session>> out;
  if (auto it = shard.users.find(key); it != shard.users.end())
    for (const Entry& e : it->second) out.push_back(e.session);
  return out;
}

std::vector<std::shared_ptr<Session>> Router::sessions_on(std::string_view domain) const {
  std::vector<std::shared_ptr<Session>> out;
  for (const Shard& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    for (const auto& [bare, entries] : shard.users)
      for (const Entry& e : entries)
        if (e.session->jid().domain() == domain) out.push_back(e.session);
  }
  return out;
}

// Routing ----------------------------------------------------------------------------------

module::Host* Router::host(std::string_view domain) const {
  auto it = hosts_.find(domain);
  return it == hosts_.end() ? nullptr : it->second.get();
}

void Router::route(Element stanza) {
  auto from = Jid::parse(stanza.attr_or("from"));
  if (!from) {
    log::warn("router: dropping a stanza without a valid sender: ", stanza.str());
    return;
  }
  const std::string* to_attr = stanza.attr("to");
  std::optional<Jid> to = (to_attr && !to_attr->empty()) ? Jid::parse(*to_attr) : from->bare();
  if (!to) {
    bounce(stanza, "jid-malformed");
    return;
  }
  route(std::move(stanza), *from, *to);
}

void Router::route(Element stanza, const Jid& from, const Jid& to) {
  if (auto c = components_.find(to.domain()); c != components_.end()) {
    const Component& component = c->second;
    asio::post(component.strand, [&component, stanza = std::move(stanza), from, to]() mutable {
      component.handler(std::move(stanza), from, to);
    });
    return;
  }
  module::Host* host = this->host(to.domain());
  if (!host) {
    bounce(stanza, "remote-server-not-found");  // no server-to-server links yet
    return;
  }
  if (to.node().empty()) route_to_domain(stanza, *host, from);
  else route_to_account(stanza, *host, to, from);
}

bool Router::dispatch_iq(const module::Host& host, IqTarget target, Element& iq) {
  const Element* payload = iq.first_child();
  if (!payload) return false;
  auto handler = host.iq_handler(target, iq.attr_or("type"), payload->ns());
  if (!handler) return false;
  (*handler)(std::move(iq));
  return true;
}

void Router::route_to_domain(Element& stanza, module::Host& host, const Jid& from) {
  if (stanza.name() != "iq") return;  // messages and presence to the server itself: nothing to do
  std::string_view type = stanza.attr_or("type");
  if (type != "get" && type != "set") {
    take_reply(stanza, from);  // an answer to one of our requests, or to none (dropped)
    return;
  }
  if (!dispatch_iq(host, IqTarget::server, stanza)) bounce(stanza, "service-unavailable");
}

void Router::route_to_account(Element& stanza, module::Host& host, const Jid& to, const Jid& from) {
  // A stanza sent without 'to' is for the sender's own account; say so for whoever answers.
  if (!stanza.attr("to")) stanza.set_attr("to", to.str());
  StanzaEvent event{stanza, from, to};
  if (host.incoming.run(event) == HookResult::handled) return;
  if (to.is_bare()) route_to_bare(stanza, host, to, from);
  else route_to_full(stanza, host, to, from);
}

void Router::route_to_bare(Element& stanza, module::Host& host, const Jid& to, const Jid& from) {
  std::string_view type = stanza.attr_or("type");
  if (stanza.name() == "iq") {
    if (type != "get" && type != "set") {
      take_reply(stanza, from);
      return;
    }
    if (!dispatch_iq(host, IqTarget::account, stanza)) bounce(stanza, "service-unavailable");
    return;
  }

  // Which resources get it (RFC 6121 §8.5.2.1): messages go to available resources with
  // non-negative priority, presence to every available resource.
  std::vector<std::shared_ptr<Session>> targets;
  {
    std::string bare = to.bare_str();
    Shard& shard = shard_of(bare);
    std::lock_guard lock(shard.mutex);
    if (auto it = shard.users.find(bare); it != shard.users.end()) {
      for (const Entry& e : it->second) {
        bool wanted = stanza.name() == "presence" ? e.available : (e.available && e.priority >= 0);
        if (wanted) targets.push_back(e.session);
      }
    }
  }

  if (stanza.name() == "presence" || type == "error") {
    deliver(targets, stanza);  // nobody available: dropped
    return;
  }
  if (type == "groupchat") {
    bounce(stanza, "service-unavailable");
    return;
  }
  if (!targets.empty()) {
    deliver(targets, stanza);
    return;
  }
  handle_unavailable_account(std::move(stanza), host, to.bare(), from);
}

void Router::route_to_full(Element& stanza, module::Host& host, const Jid& to, const Jid& from) {
  if (auto session = find(to)) {
    deliver({session}, stanza);
    return;
  }
  // RFC 6121 §8.5.3.2: no such resource.
  std::string_view type = stanza.attr_or("type");
  if (stanza.name() == "message") {
    if (type == "groupchat") bounce(stanza, "service-unavailable");
    else if (type != "error") route_to_bare(stanza, host, to.bare(), from);
  } else if (stanza.name() == "presence") {
    if (type == "subscribe" || type == "subscribed" || type == "unsubscribe" || type == "unsubscribed")
      route_to_bare(stanza, host, to.bare(), from);
  } else if (type == "get" || type == "set") {
    bounce(stanza, "service-unavailable");
  }
}

namespace {
thread_local bool rerouting = false;  // set by reroute() around its route()
}

void Router::reroute(Element message) {
  rerouting = true;
  route(std::move(message));
  rerouting = false;
}

void Router::handle_unavailable_account(Element stanza, module::Host& host, const Jid& to, const Jid& from) {
  // Whether the account exists is a storage question: ask off the network thread. The
  // sender's later output waits meanwhile: what the hooks store is part of handling it.
  auto task = [this, &host, stanza = std::move(stanza), to, from, hold = StanzaCause::hold(),
               bounce = !rerouting]() mutable -> asio::awaitable<void> {
    auto lookup = [&to](storage::Storage& s) { return s.accounts().exists(to.node(), to.domain()); };
    bool exists = co_await storage_.run(lookup);
    StanzaCause cause(hold);
    StanzaEvent event{stanza, from, to};
    if (exists && host.undelivered.run(event) == HookResult::handled) co_return;
    // RFC 6121 §8.5.2.2 / §8.5.1: nowhere to deliver.
    if (bounce && stanza.attr_or("type") != "headline") this->bounce(stanza, "service-unavailable");
  };
  asio::co_spawn(background_, std::move(task), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("router: offline delivery failed: ", ex.what());
    }
  });
}

std::string Router::new_request_id() {
  return "xmppd-" + std::to_string(request_counter_.fetch_add(1, std::memory_order_relaxed) + 1);
}

void Router::expect_reply(std::string id, Jid responder, ReplyHandler handler) {
  std::lock_guard lock(requests_mutex_);
  requests_[std::move(id)] = ExpectedReply{std::move(responder), std::move(handler)};
}

std::optional<Router::ReplyHandler> Router::take_reply_handler(const std::string& id) {
  std::lock_guard lock(requests_mutex_);
  auto it = requests_.find(id);
  if (it == requests_.end()) return std::nullopt;
  ReplyHandler handler = std::move(it->second.handler);
  requests_.erase(it);
  return handler;
}

bool Router::take_reply(Element& iq, const Jid& from) {
  const std::string* id = iq.attr("id");
  if (!id) return false;
  ReplyHandler handler;
  {
    std::lock_guard lock(requests_mutex_);
    auto it = requests_.find(*id);
    // Only the entity asked may answer (an account's server answers for its bare JID).
    if (it == requests_.end() || !(it->second.responder == from || it->second.responder == from.bare()))
      return false;
    handler = std::move(it->second.handler);
    requests_.erase(it);
  }
  handler(std::move(iq));
  return true;
}

void Router::bounce(const Element& stanza, std::string_view condition) {
  if (!stanza::may_reply_with_error(stanza)) return;
  Element reply = stanza::error(stanza, condition);
  // The error comes from the server when the original address was unusable.
  auto to = Jid::parse(stanza.attr_or("to"));
  if (!to || !is_local(to->domain())) {
    auto sender = Jid::parse(stanza.attr_or("from"));
    if (!sender) return;
    reply.set_attr("from", to ? to->str() : sender->domain());
  }
  route(std::move(reply));
}

std::shared_ptr<const std::string> Router::shared_tail(const Element& stanza) {
  Element shared = stanza;
  shared.remove_attr("to");
  std::string bytes = shared.str(ns::kClient);
  bytes.erase(0, 1 + shared.name().size());
  return std::make_shared<const std::string>(std::move(bytes));
}

void Router::append_to_attr(std::string& out, const Jid& to) {
  out.append(" to='");
  if (!to.node().empty()) {  // the JID written part by part: no string for it
    xml::escape_attr(to.node(), out);
    out += '@';
  }
  xml::escape_attr(to.domain(), out);
  if (!to.resource().empty()) {
    out += '/';
    xml::escape_attr(to.resource(), out);
  }
  out += '\'';
}

bool Router::runs_here(const asio::any_io_executor& executor) {
  auto* local = executor.target<asio::io_context::executor_type>();
  return local && local->running_in_this_thread();
}

void Router::deliver_copy(const std::shared_ptr<Session>& session, std::string_view head,
                          const std::shared_ptr<const std::string>& tail) {
  auto executor = session->executor();
  if (runs_here(executor)) {
    session->deliver(head, *tail);
    return;
  }
  asio::post(executor, [session, head = std::string(head), tail] { session->deliver(head, *tail); });
}

void Router::route_copy(const Element& stanza, const Jid& to) {
  Element copy = stanza;
  copy.set_attr("to", to.str());
  route(std::move(copy));
}

bool Router::accepts(const Jid& to, const std::optional<Jid>& from) const {
  const module::Host* host = this->host(to.domain());
  if (!host || !from) return true;
  for (const auto& filter : host->delivery_filters)
    if (!filter(to, *from)) return false;
  return true;
}

void Router::route_to_many(const Element& stanza, const std::vector<Jid>& recipients) {
  auto tail = shared_tail(stanza);
  auto from = Jid::parse(stanza.attr_or("from"));
  std::string head;
  for (const Jid& to : recipients) {
    auto session = to.is_bare() ? nullptr : find(to);
    if (!session) {
      route_copy(stanza, to);  // the incoming hooks judge it there
      continue;
    }
    if (!accepts(to, from)) continue;
    head.assign("<").append(stanza.name());
    append_to_attr(head, to);
    deliver_copy(session, head, tail);
  }
}

void Router::deliver(const std::vector<std::shared_ptr<Session>>& sessions, const Element& stanza) {
  if (sessions.empty()) return;
  // The common case, one session on this thread: no copy, no shared buffer, no closure.
  if (sessions.size() == 1 && runs_here(sessions.front()->executor())) return sessions.front()->deliver(stanza);
  // Serialized once, shared by every recipient thread.
  auto bytes = std::make_shared<const std::string>(stanza.str(ns::kClient));
  for (const auto& s : sessions)
    asio::dispatch(s->executor(), [s, bytes] { s->deliver({}, *bytes); });
}

}  // namespace xmppd::router

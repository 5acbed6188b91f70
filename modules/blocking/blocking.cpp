// XEP-0191: Blocking Command. Users keep a list of JIDs they never want to hear from (or
// talk to); the server enforces it in the stanza hooks from an in-memory copy.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "block_store.hpp"
#include "blocklist_cache.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;
using xmppd::StanzaEvent;
using xmppd::blocking::BlocklistSnapshot;
using xmppd::blocking::BlockStore;

constexpr const char* kBlocking = "urn:xmpp:blocking";
constexpr const char* kBlockingErrors = "urn:xmpp:blocking:errors";
// Before other modules' hooks: a blocked stanza must not be archived, stored offline, ...
constexpr int kHookPriority = 1000;

// Set while this module routes its own <not-acceptable/> bounce: that error comes "from"
// the blocked JID, and the incoming hook must not swallow it.
thread_local bool routing_own_bounce = false;

class BlockingModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    auto stored = ctx.storage().call([this](xmppd::storage::Storage& s) {
      BlockStore::migrate(s.database());
      store_ = std::make_unique<BlockStore>(s.database());
      return store_->all();
    });
    cache_.preload(stored);
    ctx.add_feature(kBlocking);

    ctx.on_iq(xmppd::IqTarget::account, "get", kBlocking, [this](Element iq) { on_get(std::move(iq)); });
    ctx.on_iq(xmppd::IqTarget::account, "set", kBlocking, [this](Element iq) { on_set(std::move(iq)); });

    ctx.on_session_bound(0, [this](xmppd::SessionEvent& e) {
      if (cache_.session_bound(e.jid)) load(e.jid.bare());
      return HookResult::pass;
    });
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& e) {
      cache_.session_closed(e.jid);
      return HookResult::pass;
    });
    ctx.on_account_deleted(0, [this](xmppd::AccountEvent& e) {
      cache_.forget(e.account);
      return HookResult::pass;
    });
    ctx.on_incoming(kHookPriority, [this](StanzaEvent& e) { return on_incoming(e); });
    ctx.add_delivery_filter([this](const Jid& to, const Jid& from) {  // fan-outs skip on_incoming
      return (to.node() == from.node() && to.domain() == from.domain()) || !cache_.blocks(to, from);
    });
    ctx.on_outgoing(kHookPriority, [this](StanzaEvent& e) { return on_outgoing(e); });
  }

 private:
  using Operation = std::function<BlocklistSnapshot(BlockStore&, const std::string& user, const std::string& domain)>;

  // Runs `op` on the storage thread for `owner`, caches the resulting list, then calls
  // `done` with it on a network thread. A storage failure answers `iq` with an error.
  void run(Jid owner, Element iq, Operation op, std::function<void(const BlocklistSnapshot&)> done) {
    auto task = [this, owner = std::move(owner), iq = std::move(iq), op = std::move(op),
                 done = std::move(done)]() mutable -> asio::awaitable<void> {
      std::optional<BlocklistSnapshot> snapshot;
      try {
        auto query = [this, &owner, &op](xmppd::storage::Storage&) {
          return op(*store_, owner.node(), owner.domain());
        };
        snapshot = co_await ctx_->storage().run(query);
      } catch (const std::exception&) {
      }
      if (!snapshot) {
        if (!iq.name().empty()) ctx_->send(xmppd::stanza::error(iq, "internal-server-error"));
        co_return;
      }
      cache_.update(owner, snapshot->jids, snapshot->version);
      done(*snapshot);
    };
    ctx_->spawn(std::move(task));
  }

  void load(Jid bare) {
    run(std::move(bare), Element(), [](BlockStore& s, const std::string& u, const std::string& d) { return s.list(u, d); },
        [](const BlocklistSnapshot&) {});
  }

  // The requesting user's own full JID, or nullopt if the IQ is not about their own list
  // (nobody manages another account's blocklist).
  static std::optional<Jid> own_request(const Element& iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || !to || from->bare() != to->bare()) return std::nullopt;
    return from;
  }

  void on_get(Element iq) {
    auto from = own_request(iq);
    if (!from || !iq.child("blocklist", kBlocking)) return ctx_->send(xmppd::stanza::error(iq, "service-unavailable"));
    cache_.requested_blocklist(*from);
    Element reply = xmppd::stanza::iq_result(iq);
    run(from->bare(), std::move(iq), [](BlockStore& s, const std::string& u, const std::string& d) { return s.list(u, d); },
        [this, reply = std::move(reply)](const BlocklistSnapshot& list) mutable {
          Element& blocklist = reply.add_child("blocklist", kBlocking);
          for (const auto& jid : list.jids) blocklist.add_child("item", kBlocking).set_attr("jid", jid);
          ctx_->send(std::move(reply));
        });
  }

  void on_set(Element iq) {
    auto from = own_request(iq);
    if (!from) return ctx_->send(xmppd::stanza::error(iq, "service-unavailable"));
    const Element* command = iq.first_child();
    bool block = command->is("block", kBlocking);
    if (!block && !command->is("unblock", kBlocking)) return ctx_->send(xmppd::stanza::error(iq, "bad-request"));

    std::vector<std::string> jids;
    for (const Element& item : command->nodes()) {
      if (!item.is("item", kBlocking)) continue;
      auto jid = Jid::parse(item.attr_or("jid"));
      if (!jid) return ctx_->send(xmppd::stanza::error(iq, "jid-malformed"));
      jids.push_back(jid->str());
    }
    // §3.3: a block names at least one JID; an empty unblock (§3.5) means everyone.
    if (block && jids.empty()) return ctx_->send(xmppd::stanza::error(iq, "bad-request", "No item to block"));

    Element reply = xmppd::stanza::iq_result(iq);
    Element push("iq", xmppd::ns::kClient);
    push.set_attr("type", "set");
    push.set_attr("from", from->bare_str());
    Element& pushed = push.add_child(command->name(), kBlocking);
    for (const auto& jid : jids) pushed.add_child("item", kBlocking).set_attr("jid", jid);

    Operation op = [block, jids](BlockStore& s, const std::string& u, const std::string& d) {
      return block ? s.add(u, d, jids) : s.remove(u, d, jids);
    };
    Jid owner = from->bare();
    // Unblocking everyone (§3.5) unblocks each JID on the list: each gets its presence back.
    std::vector<std::string> affected = block || !jids.empty() ? jids : cache_.jids(owner);
    run(owner, std::move(iq), std::move(op),
        [this, owner, block, affected, reply = std::move(reply), push = std::move(push)](const BlocklistSnapshot&) mutable {
          ctx_->send(std::move(reply));
          presence_side_effects(owner, block, affected);
          for (const Jid& target : cache_.push_targets(owner)) {
            Element copy = push;
            copy.set_attr("to", target.str());
            copy.set_attr("id", "block-push-" + std::to_string(++push_counter_));
            ctx_->send(std::move(copy));
          }
        });
  }

  // §3.3, §3.4: a contact just blocked sees the user go offline; one just unblocked gets
  // the user's current presence again, as an answer to a probe made on its behalf (the
  // presence module answers only those the user's roster shares presence with).
  void presence_side_effects(const Jid& owner, bool block, const std::vector<std::string>& jids) {
    for (const std::string& text : jids) {
      auto contact = Jid::parse(text);
      if (!contact || contact->node().empty()) continue;  // a whole domain: no one in particular
      if (block) {
        for (const Jid& session : ctx_->sessions_of(owner)) {
          Element gone("presence", xmppd::ns::kClient);
          gone.set_attr("type", "unavailable");
          gone.set_attr("from", session.str());
          gone.set_attr("to", contact->str());
          ctx_->send(std::move(gone));
        }
      } else {
        Element probe("presence", xmppd::ns::kClient);
        probe.set_attr("type", "probe");
        probe.set_attr("from", contact->str());
        probe.set_attr("to", owner.bare_str());
        ctx_->send(std::move(probe));
      }
    }
  }

  // §3.5: stanzas from a blocked entity never reach the user. Presence and non-request
  // IQs vanish silently; messages and IQ requests get service-unavailable, the same
  // answer as for an account that does not exist.
  HookResult on_incoming(StanzaEvent& e) {
    if (routing_own_bounce || e.from.bare() == e.to.bare() || !cache_.blocks(e.to.bare(), e.from))
      return HookResult::pass;
    const std::string& name = e.stanza.name();
    std::string_view type = e.stanza.attr_or("type");
    bool answer = (name == "message" && type != "error" && type != "groupchat") ||
                  (name == "iq" && (type == "get" || type == "set"));
    if (answer) ctx_->send(xmppd::stanza::error(e.stanza, "service-unavailable"));
    return HookResult::handled;
  }

  // §3.6: the user cannot talk to someone they block; they learn why.
  HookResult on_outgoing(StanzaEvent& e) {
    if (e.from.bare() == e.to.bare() || !cache_.blocks(e.from.bare(), e.to)) return HookResult::pass;
    std::string_view type = e.stanza.attr_or("type");
    if (type == "error" || (e.stanza.name() == "iq" && type == "result")) return HookResult::handled;
    Element bounce = xmppd::stanza::error(e.stanza, "not-acceptable");
    bounce.set_attr("from", e.to.str());
    Element* error = bounce.child("error", e.stanza.ns());
    error->set_attr("type", "cancel");  // §3.6: retrying will not help
    error->add_child("blocked", kBlockingErrors);
    routing_own_bounce = true;
    ctx_->send(std::move(bounce));
    routing_own_bounce = false;
    return HookResult::handled;
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  xmppd::blocking::BlocklistCache cache_;
  std::unique_ptr<BlockStore> store_;  // created and used on the storage thread only
  std::atomic<std::uint64_t> push_counter_{0};
};

}  // namespace

XMPPD_MODULE("blocking", BlockingModule);

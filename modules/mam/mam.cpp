// XEP-0313 Message Archive Management for accounts, with XEP-0359 stanza ids and XEP-0424
// retraction: every chat message a local user sends or receives is archived once per
// account (whichever resources took part), with a server-assigned stanza-id, and the
// user's clients page through the archive, filter and search it, and retract what they
// sent.

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <variant>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "archive_answer.hpp"
#include "archive_policy.hpp"
#include "archive_query.hpp"
#include "archive_store.hpp"
#include "archive_writer.hpp"
#include "common/log.hpp"
#include "storage/storage_thread.hpp"

namespace {

using namespace archive;
using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;
namespace stanza = xmppd::stanza;

// After blocking (which may drop a message) and before carbons (whose copies then carry
// the stanza-id).
constexpr int kHookPriority = 100;

// Whether a message between an account and `with` is archived (XEP-0313 §6 preferences).
enum class Archiving { always, if_in_roster, never };

std::optional<Archiving> mode_named(std::string_view name) {
  if (name == "always") return Archiving::always;
  if (name == "roster") return Archiving::if_in_roster;
  if (name == "never") return Archiving::never;
  return std::nullopt;
}

const char* name_of(Archiving mode) {
  switch (mode) {
    case Archiving::always: return "always";
    case Archiving::if_in_roster: return "roster";
    case Archiving::never: return "never";
  }
  return "always";
}

thread_local bool resubmitting = false;  // a retraction checked here goes on

class MamModule final : public xmppd::Module {
 public:
  bool reload() override {
    const xmppd::ModuleConfig& c = ctx_->config();
    auto mode = mode_named(c.string("default_mode", "always"));
    if (!mode) c.reject("default_mode", "must be \"always\", \"roster\" or \"never\"");
    default_mode_.store(*mode);
    default_page_.store(std::size_t(c.integer("default_page_size", 50, 1, 10000)));
    max_page_.store(std::size_t(c.integer("max_page_size", 250, 1, 10000)));
    expire_after_.store(c.duration("expire_after", std::chrono::days(365)).count());
    if (writer_) writer_->set_max_messages(c.integer("max_messages", 0, 0, INT64_MAX));
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<ArchiveStore>(s.database()); });
    IdClock::start_after(ctx.storage().call([store = store_](xmppd::storage::Storage&) { return store->max_id(); }));
    prefs_ = ctx.storage().call([store = store_](xmppd::storage::Storage&) { return store->load_preferences(); });
    any_prefs_.store(!prefs_.empty());
    writer_ = std::make_unique<ArchiveWriter>(ctx, store_);
    reload();
    ctx.config().check_no_unknown_keys();

    for (const char* feature : {kMam, kMamExtended, kStanzaIds, kRetract}) ctx.add_account_feature(feature);
    ctx.on_iq(xmppd::IqTarget::account, "set", kMam, [this](Element iq) { on_set(std::move(iq)); });
    ctx.on_iq(xmppd::IqTarget::account, "get", kMam, [this](Element iq) { on_get(std::move(iq)); });
    ctx.on_outgoing(kHookPriority, [this](xmppd::StanzaEvent& e) { return on_outgoing(e); });
    ctx.on_incoming(kHookPriority, [this](xmppd::StanzaEvent& e) { return on_incoming(e); });
    ctx.on_account_deleted(0, [this](xmppd::AccountEvent& e) {
      forget(e.account.bare_str());
      return HookResult::pass;
    });
    ctx.spawn(maintain_periodically());
  }

 private:
  // Hooks --------------------------------------------------------------------------------

  HookResult on_outgoing(xmppd::StanzaEvent& e) {
    Element& m = e.stanza;
    if (m.name() != "message") return HookResult::pass;
    if (!resubmitting) strip_stanza_ids(m);  // a client's are forgeries (XEP-0359 §3.1)
    // Group chat is the room's to archive; errors and headlines are archived by nobody.
    if (!one_to_one(m)) return HookResult::pass;
    if (const Element* retract = m.child("retract", kRetract); retract && !resubmitting) {
      check_retraction(m, e.from, std::string(retract->attr_or("id")));
      return HookResult::handled;
    }
    archive(m, e.from.bare_str(), e.to, e.from, -1);
    return HookResult::pass;
  }

  HookResult on_incoming(xmppd::StanzaEvent& e) {
    Element& m = e.stanza;
    if (m.name() != "message" || !one_to_one(m)) return HookResult::pass;
    std::string owner = e.to.bare_str();
    // Outgoing hooks removed every stanza-id a client sent: ours means the server delivers
    // again what it archived already (offline storage, a session that ended unacknowledged).
    if (stanza_id(m, owner)) return HookResult::pass;
    if (const Element* retract = m.child("retract", kRetract); retract && e.from.bare() != e.to.bare())
      writer_->retract({owner, e.from.bare_str(), std::string(retract->attr_or("id")), false, std::nullopt, {}});
    // From a local user of this host, whose archive stored the message a moment ago (and
    // stamped its id): this archive holds the same copy.
    std::int64_t stored = -1;
    if (e.from.domain() == ctx_->host())
      if (const Element* sid = stanza_id(m, e.from.bare_str())) stored = parse_id(sid->attr_or("id"));
    archive(m, owner, e.from, e.from, stored);
    return HookResult::pass;
  }

  static bool one_to_one(const Element& m) {
    std::string_view type = m.attr_or("type", "normal");
    return type == "chat" || type == "normal";
  }

  // Archives `m` in `owner`'s archive (the conversation with `with`) and stamps its id;
  // `stored`: the id under which the sender's archive stores the same message, or -1.
  void archive(Element& m, const std::string& owner, const Jid& with, const Jid& sender, std::int64_t stored) {
    if (!archivable(m, false)) return;
    Archiving mode = archiving(owner, with.bare_str());
    if (mode == Archiving::never) return;
    std::int64_t id = stored >= 0 ? stored : IdClock::next();
    Entry entry{owner, id, with.bare_str(), with.resource(), sender.bare_str(), {}, {}, {}, true,
                mode == Archiving::if_in_roster, stored >= 0};
    if (stored < 0) {
      entry.message_id = message_id(m);
      entry.stanza = m.str(xmppd::ns::kClient);
      entry.text = searchable_text(m);
    }
    // Roster mode is decided on the storage thread: the message may not be archived, so it
    // does not claim an id.
    if (mode == Archiving::always) add_stanza_id(m, owner, id_text(id));
    writer_->add(std::move(entry));
  }

  // XEP-0424: a user retracts only their own messages. The retraction waits while the
  // archive says whose the message is; the user's later output waits with it.
  void check_retraction(const Element& m, const Jid& from, std::string id) {
    std::string owner = from.bare_str();
    auto done = [this, m, hold = ctx_->output_hold()](RetractOutcome outcome) mutable {
      if (outcome == RetractOutcome::forbidden) {
        if (stanza::may_reply_with_error(m))
          ctx_->send(stanza::error(m, "forbidden", "that message was not sent by you"));
        return;
      }
      resubmitting = true;
      ctx_->resubmit(std::move(m));
      resubmitting = false;
    };
    writer_->retract({owner, owner, std::move(id), false, std::nullopt, std::move(done)});
  }

  // On every message: without stored preferences (the usual case) no lock is taken.
  Archiving archiving(const std::string& owner, const std::string& with) {
    if (any_prefs_.load(std::memory_order_relaxed)) {
      std::shared_lock lock(prefs_mutex_);
      if (auto it = prefs_.find(owner); it != prefs_.end()) {
        const Preferences& p = it->second;
        if (std::find(p.never.begin(), p.never.end(), with) != p.never.end()) return Archiving::never;
        if (std::find(p.always.begin(), p.always.end(), with) != p.always.end()) return Archiving::always;
        return mode_named(p.default_mode).value_or(Archiving::always);
      }
    }
    return default_mode_.load(std::memory_order_relaxed);
  }

  // IQs ----------------------------------------------------------------------------------

  // The account's own sessions only (XEP-0313 §4: others are refused).
  std::optional<Jid> own_request(const Element& iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || (to && to->bare() != from->bare())) {
      ctx_->send(stanza::error(iq, "forbidden"));
      return std::nullopt;
    }
    return from;
  }

  void on_get(Element iq) {
    if (!own_request(iq)) return;
    const Element* payload = iq.first_child();
    if (payload->name() == "query") return ctx_->send(query_form(iq));
    if (payload->name() == "prefs") return ctx_->send(prefs_reply(iq, jid_of(iq)));
    if (payload->name() == "metadata") {
      std::string owner = jid_of(iq);
      auto bounds = std::make_shared<std::optional<std::pair<std::int64_t, std::int64_t>>>();
      writer_->read({[owner, bounds](ArchiveStore& s) { *bounds = s.bounds(owner); },
                     [this, iq, bounds] { ctx_->send(metadata(iq, *bounds)); }});
      return;
    }
    ctx_->send(stanza::error(iq, "feature-not-implemented"));
  }

  void on_set(Element iq) {
    auto from = own_request(iq);
    if (!from) return;
    const Element* payload = iq.first_child();
    if (payload->name() == "query") return query(std::move(iq), *from, *payload);
    if (payload->name() == "prefs") return set_prefs(std::move(iq), *payload);
    ctx_->send(stanza::error(iq, "feature-not-implemented"));
  }

  static std::string jid_of(const Element& iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    return from ? from->bare_str() : std::string();
  }

  void query(Element iq, const Jid& from, const Element& payload) {
    auto parsed = parse_request(payload, default_page_.load(), max_page_.load());
    if (auto* refusal = std::get_if<Refusal>(&parsed))
      return ctx_->send(stanza::error(iq, refusal->condition, refusal->text));
    Request* request = &std::get<Request>(parsed);
    request->query.archive = from.bare_str();
    if (request->with) {
      request->query.with_bare = request->with->bare_str();
      if (!request->with->is_bare()) request->query.with_resource = request->with->resource();
    }
    answer(*ctx_, *writer_, std::move(iq), std::move(*request));
  }

  // Preferences (XEP-0313 §6) ------------------------------------------------------------

  Element prefs_reply(const Element& iq, const std::string& owner) {
    Preferences p;
    {
      std::shared_lock lock(prefs_mutex_);
      auto it = prefs_.find(owner);
      p = it != prefs_.end() ? it->second : Preferences{name_of(default_mode_.load()), {}, {}};
    }
    Element reply = stanza::iq_result(iq);
    Element& prefs = reply.add_child("prefs", kMam);
    prefs.set_attr("default", p.default_mode);
    for (auto [name, list] : {std::pair{"always", &p.always}, std::pair{"never", &p.never}}) {
      Element& e = prefs.add_child(name, kMam);
      for (const std::string& jid : *list) e.add_child("jid", kMam).add_text(jid);
    }
    return reply;
  }

  void set_prefs(Element iq, const Element& payload) {
    Preferences p;
    p.default_mode = std::string(payload.attr_or("default"));
    if (!mode_named(p.default_mode))
      return ctx_->send(stanza::error(iq, "bad-request", "'default' must be always, roster or never"));
    for (auto [name, list] : {std::pair{"always", &p.always}, std::pair{"never", &p.never}}) {
      const Element* e = payload.child(name, kMam);
      if (!e) continue;
      for (const Element& j : e->nodes()) {
        if (!j.is("jid", kMam)) continue;
        auto jid = Jid::parse(j.text());
        if (!jid) return ctx_->send(stanza::error(iq, "jid-malformed"));
        list->push_back(jid->bare_str());
      }
    }
    std::string owner = jid_of(iq);
    auto saved = std::make_shared<bool>(false);
    auto work = [owner, p, saved](ArchiveStore& s) {
      s.save_preferences(owner, p);
      *saved = true;
    };
    auto done = [this, iq = std::move(iq), owner, p, saved] {
      if (!*saved) return ctx_->send(stanza::error(iq, "internal-server-error"));
      {
        std::unique_lock lock(prefs_mutex_);
        prefs_[owner] = p;
        any_prefs_.store(true);
      }
      ctx_->send(prefs_reply(iq, owner));
    };
    writer_->read({std::move(work), std::move(done)});
  }

  // Retention ------------------------------------------------------------------------------

  // The account's row is gone, and a trigger noted its archive for removal (queries show
  // nothing of it meanwhile): remove it now, and forget its preferences.
  void forget(const std::string& account) {
    {
      std::unique_lock lock(prefs_mutex_);
      prefs_.erase(account);
    }
    ctx_->spawn(remove_forgotten());
  }

  // Removes the archives of deleted accounts, a chunk per storage task so that no other
  // storage work waits long.
  boost::asio::awaitable<void> remove_forgotten() {
    for (bool done = false; !done;) {
      auto chunk = [store = store_](xmppd::storage::Storage&) { return store->remove_forgotten(5000); };
      try {
        done = co_await ctx_->storage().run(chunk);
      } catch (const std::exception& e) {
        xmppd::log::error("mam: cannot remove the archive of a deleted account: ", e.what());
        co_return;
      }
    }
  }

  // Once an hour (and at start): deletes what is older than expire_after, a chunk per
  // storage task, and what deleted accounts left.
  boost::asio::awaitable<void> maintain_periodically() {
    boost::asio::steady_timer timer(ctx_->executor());
    for (;;) {
      co_await remove_forgotten();
      if (std::int64_t seconds = expire_after_.load(); seconds > 0) {
        auto cutoff = std::chrono::system_clock::now() - std::chrono::seconds(seconds);
        std::int64_t before = std::chrono::duration_cast<std::chrono::microseconds>(cutoff.time_since_epoch()).count();
        constexpr std::int64_t kChunk = 5000;
        for (std::int64_t removed = kChunk; removed == kChunk;) {
          auto expire = [store = store_, before](xmppd::storage::Storage&) { return store->expire_before(before, kChunk); };
          try {
            removed = co_await ctx_->storage().run(expire);
          } catch (const std::exception& e) {
            xmppd::log::error("mam: cannot expire old messages: ", e.what());
            break;
          }
          if (removed > 0) xmppd::log::info("mam: expired ", removed, " archived messages");
        }
      }
      timer.expires_after(std::chrono::hours(1));
      co_await timer.async_wait(boost::asio::use_awaitable);
    }
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::shared_ptr<ArchiveStore> store_;  // used on the storage thread only
  std::unique_ptr<ArchiveWriter> writer_;
  std::atomic<std::size_t> default_page_{50};
  std::atomic<std::size_t> max_page_{250};
  std::atomic<std::int64_t> expire_after_{0};  // seconds; 0: forever
  std::atomic<Archiving> default_mode_{Archiving::always};  // for accounts without preferences
  std::shared_mutex prefs_mutex_;                           // guards prefs_
  std::map<std::string, Preferences> prefs_;                // accounts that set preferences
  std::atomic<bool> any_prefs_{false};  // prefs_ is not empty: the usual message takes no lock
};

}  // namespace

XMPPD_MODULE("mam", MamModule);

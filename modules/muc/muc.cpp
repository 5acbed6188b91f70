// XEP-0045 Multi-User Chat: a conference service at its own domain (conference.<host> by
// default). The service answers discovery and creates rooms; each Room runs the protocol
// for its occupants. Everything runs on the component's strand, so no state is locked.
// Persistent rooms (configuration, affiliations, subject) live in SQLite; messages and
// presence never touch the disk.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <variant>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "archive_answer.hpp"
#include "archive_policy.hpp"
#include "archive_writer.hpp"
#include "common/log.hpp"
#include "muc_store.hpp"
#include "room.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;
namespace stanza = xmppd::stanza;
using namespace muc;

constexpr const char* kPing = "urn:xmpp:ping";

class MucModule final : public xmppd::Module, private RoomEnvironment {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    read_config(ctx.config());
    store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<MucStore>(s.database()); });
    archive_store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<archive::ArchiveStore>(s.database()); });
    archive::IdClock::start_after(
        ctx.storage().call([store = archive_store_](xmppd::storage::Storage&) { return store->max_id(); }));
    archive_writer_ = std::make_unique<archive::ArchiveWriter>(ctx, archive_store_);
    archive_writer_->set_max_messages(archive_max_messages_);
    restore_rooms();
    strand_ = ctx.add_component(service_.str(), [this](Element s, const Jid& from, const Jid& to) {
      on_stanza(std::move(s), from, to);
    });
    // A session that ends without leaving its rooms (the presence module only tells those it
    // sent available presence to while itself available) leaves them now.
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& e) {
      asio::post(strand_, [this, jid = e.jid] {
        for_each_room([&jid](Room& room) { room.session_ended(jid); });
      });
      return HookResult::pass;
    });
  }

  // Runs on the host's worker thread, the only thread that runs the strand: no room is
  // being handled concurrently. The rooms are dropped from memory (persistent ones stay
  // stored), so the sessions closing next do not make every occupant watch every other
  // one leave.
  void stop() override {
    for (auto& [name, room] : rooms_) room->shut_down();
    rooms_.clear();
    stopped_ = true;
  }

 private:
  void read_config(const xmppd::ModuleConfig& c) {
    std::string domain = c.string("domain", "conference." + ctx_->host());
    auto service = Jid::parse(domain);
    if (!service || !service->node().empty() || !service->is_bare())
      c.reject("domain", "not a domain name: " + domain);
    service_ = *service;
    service_name_ = c.string("name", "Chatrooms");
    restrict_to_admins_ = c.boolean("restrict_creation_to_admins", false);
    for (const std::string& creator : c.strings("creators", {})) {
      auto jid = Jid::parse(creator);
      if (!jid || !jid->is_bare()) c.reject("creators", "not a bare JID: " + creator);
      creators_.insert(jid->bare_str());
    }
    limits_.max_occupants = c.integer("max_occupants", 10000, 1, 1'000'000);
    limits_.history_max_stanzas = std::size_t(c.integer("history_max_stanzas", 20, 0, 1000));
    default_page_ = std::size_t(c.integer("archive_default_page_size", 50, 1, 10000));
    max_page_ = std::size_t(c.integer("archive_max_page_size", 250, 1, 10000));
    archive_max_messages_ = c.integer("archive_max_messages", 0, 0, INT64_MAX);
    defaults_.persistent = c.boolean("default_persistent", false);
    defaults_.public_room = c.boolean("default_public", true);
    defaults_.members_only = c.boolean("default_members_only", false);
    defaults_.moderated = c.boolean("default_moderated", false);
    defaults_.non_anonymous = c.boolean("default_non_anonymous", false);
    defaults_.max_occupants = limits_.max_occupants;
  }

  // At start, before serving: blocking on storage is allowed here.
  void restore_rooms() {
    auto load = [store = store_, domain = service_.str()](xmppd::storage::Storage&) { return store->load(domain); };
    for (const StoredRoom& stored : ctx_->storage().call(load)) {
      auto form = Element::parse(stored.config, kDataForms);
      auto config = form ? apply_config_form(*form, defaults_, std::numeric_limits<std::int64_t>::max()) : std::nullopt;
      auto jid = Jid::make(stored.room, service_.domain());
      if (!config || !jid) {
        xmppd::log::error("muc: cannot read the stored room ", stored.room, "@", stored.service, "; skipped");
        continue;
      }
      config->persistent = true;
      config->max_occupants = std::min(config->max_occupants, limits_.max_occupants);
      auto room = std::make_unique<Room>(*jid, *config, limits_, environment());
      room->restore(stored);
      if (room->archived()) room->restore_history(history_from_archive(*room));
      stored_.insert(stored.room);
      rooms_.emplace(stored.room, std::move(room));
    }
    xmppd::log::info("muc: ", service_.str(), " serves ", rooms_.size(), " persistent room(s)");
  }

  // The join history of a persistent room after a restart: the newest archived messages.
  std::vector<History::Entry> history_from_archive(const Room& room) {
    auto read = [store = archive_store_, jid = room.jid().str(), n = limits_.history_max_stanzas](
                    xmppd::storage::Storage&) { return store->newest(jid, n); };
    std::vector<History::Entry> entries;
    for (const archive::Found& f : ctx_->storage().call(read)) {
      auto message = Element::parse(f.stanza);
      if (!message) continue;
      archive::add_stanza_id(*message, room.jid().str(), archive::id_text(f.id));
      auto when = Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::microseconds(f.id)));
      entries.push_back({std::move(*message), when});
    }
    return entries;
  }

  template <class F>
  void for_each_room(F f) {
    for (auto it = rooms_.begin(); it != rooms_.end();) {
      f(*it->second);
      it = drop_if_gone(it);
    }
  }

  std::map<std::string, std::unique_ptr<Room>>::iterator drop_if_gone(
      std::map<std::string, std::unique_ptr<Room>>::iterator it) {
    if (!it->second->gone()) return std::next(it);
    xmppd::log::debug("muc: room ", it->second->jid().str(), " is gone");
    return rooms_.erase(it);
  }

  // Stanzas ---------------------------------------------------------------------------------

  void on_stanza(Element s, const Jid& from, const Jid& to) {
    if (stopped_) return;
    if (to.node().empty()) return on_service_stanza(s);
    auto it = rooms_.find(to.node());
    if (it == rooms_.end()) {
      if (s.name() == "presence" && !s.attr("type") && !to.is_bare()) return create_room(std::move(s), from, to);
      if (s.name() == "presence" && to.is_bare() && !s.attr("type"))
        return ctx_->send(stanza::error(s, "jid-malformed"));
      // §7.2.1 / §6.4: a room that does not exist.
      std::string_view type = s.attr_or("type");
      bool answerable = s.name() == "iq" ? (type == "get" || type == "set") : s.name() == "message";
      if (answerable && stanza::may_reply_with_error(s)) ctx_->send(stanza::error(s, "item-not-found"));
      return;
    }
    Room& room = *it->second;
    if (s.name() == "presence") room.on_presence(std::move(s), from, to, false);
    else if (s.name() == "message") room.on_message(std::move(s), from, to.resource());
    else if (s.name() == "iq") room.on_iq(std::move(s), from, to.resource());
    drop_if_gone(it);
  }

  // §10.1.1: joining a room that does not exist creates it, for those allowed to.
  void create_room(Element presence, const Jid& from, const Jid& to) {
    if (!may_create(from)) return ctx_->send(stanza::error(presence, "not-allowed"));
    // A client that does not speak MUC (no <x/>) gets an instant room (§10.1.3).
    bool instant = !presence.child("x", kMuc);
    auto room = std::make_unique<Room>(to.bare(), defaults_, limits_, environment());
    room->create(from, instant);
    Room& r = *room;
    auto it = rooms_.emplace(to.node(), std::move(room)).first;
    xmppd::log::info("muc: ", from.bare_str(), " created ", to.bare_str(), instant ? " (instant)" : " (locked)");
    r.on_presence(std::move(presence), from, to, true);
    drop_if_gone(it);
  }

  bool may_create(const Jid& user) const {
    if (ctx_->is_admin(user)) return true;
    if (restrict_to_admins_) return false;
    if (!creators_.empty()) return creators_.contains(user.bare_str());
    return user.domain() == ctx_->host();
  }

  // Discovery of the service (§6.1-§6.3), and ping.
  void on_service_stanza(const Element& s) {
    std::string_view type = s.attr_or("type");
    if (s.name() != "iq") {
      if (s.name() == "message" && stanza::may_reply_with_error(s)) ctx_->send(stanza::error(s, "service-unavailable"));
      return;
    }
    if (type != "get" && type != "set") return;
    const Element* payload = s.first_child();
    if (type == "get" && payload && payload->is("query", kDiscoInfo) && !payload->attr("node")) {
      Element result = stanza::iq_result(s);
      Element& query = result.add_child("query", kDiscoInfo);
      Element& identity = query.add_child("identity", kDiscoInfo);
      identity.set_attr("category", "conference");
      identity.set_attr("type", "text");
      identity.set_attr("name", service_name_);
      for (const char* feature : {kDiscoInfo, kDiscoItems, kMuc, kPing})
        query.add_child("feature", kDiscoInfo).set_attr("var", feature);
      return ctx_->send(std::move(result));
    }
    if (type == "get" && payload && payload->is("query", kDiscoItems) && !payload->attr("node")) {
      Element result = stanza::iq_result(s);
      Element& query = result.add_child("query", kDiscoItems);
      for (const auto& [name, room] : rooms_) {
        if (!room->config().public_room || room->locked()) continue;  // hidden, or not open yet
        Element& item = query.add_child("item", kDiscoItems);
        item.set_attr("jid", room->jid().str());
        item.set_attr("name", room->config().name.empty() ? name : room->config().name);
      }
      return ctx_->send(std::move(result));
    }
    if (type == "get" && payload && payload->is("ping", kPing)) return ctx_->send(stanza::iq_result(s));
    ctx_->send(stanza::error(s, "service-unavailable"));
  }

  // RoomEnvironment -------------------------------------------------------------------------

  RoomEnvironment& environment() { return *this; }

  void send(Element s) override { ctx_->send(std::move(s)); }

  void send_to_many(const Element& s, const std::vector<Jid>& recipients) override {
    ctx_->send_to_many(s, recipients);
  }

  std::unique_ptr<xmppd::Audience> audience(std::vector<Jid> recipients) override {
    return ctx_->audience(std::move(recipients));
  }

  void persist(const Room& room, std::optional<Element> reply) override {
    const std::string& name = room.jid().node();
    std::optional<StoredRoom> snapshot;
    if (room.stored()) snapshot = room.snapshot();
    if (!snapshot && !stored_.contains(name)) {  // temporary, and never written
      if (reply) ctx_->send(std::move(*reply));
      return;
    }
    if (snapshot) {
      stored_.insert(name);
    } else {
      stored_.erase(name);
      // Destroyed, or no longer persistent: its archive goes with it.
      archive_writer_->read({[jid = room.jid().str()](archive::ArchiveStore& s) { s.remove_archive(jid); }, {}});
    }
    // Coroutines on the strand start in order and the storage thread runs their writes in
    // that order, so the last change wins.
    asio::co_spawn(strand_, write(std::move(snapshot), name, std::move(reply)), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        xmppd::log::error("muc: ", ex.what());
      }
    });
  }

  std::string archive(const Room& room, const Element& message, const std::string& nick,
                      const std::string& sender) override {
    std::int64_t id = archive::IdClock::next();
    archive_writer_->add({room.jid().str(), id, nick, "", sender, archive::message_id(message),
                          message.str(xmppd::ns::kClient), archive::searchable_text(message), false, false});
    return archive::id_text(id);
  }

  void query_archive(const Room& room, Element iq) override {
    auto parsed = archive::parse_request(*iq.first_child(), default_page_, max_page_);
    if (auto* refusal = std::get_if<archive::Refusal>(&parsed))
      return ctx_->send(stanza::error(iq, refusal->condition, refusal->text));
    auto& request = std::get<archive::Request>(parsed);
    request.query.archive = room.jid().str();
    // 'with' names an occupant JID of this room; the room's archive knows senders by nick.
    if (request.with && request.with->bare() != room.jid()) return ctx_->send(stanza::error(iq, "bad-request", "'with' must be an occupant of this room"));
    if (request.with && !request.with->is_bare()) request.query.with_bare = request.with->resource();
    archive::answer(*ctx_, *archive_writer_, std::move(iq), std::move(request));
  }

  void retract(const Room& room, std::string id, std::string sender, std::optional<Element> detail,
               std::function<void(Room&, archive::RetractOutcome)> done) override {
    auto back_on_strand = [this, node = room.jid().node(), done = std::move(done)](archive::RetractOutcome outcome) {
      asio::post(strand_, [this, node, done, outcome] {
        if (auto it = rooms_.find(node); it != rooms_.end() && !stopped_) done(*it->second, outcome);
      });
    };
    archive_writer_->retract({room.jid().str(), std::move(sender), std::move(id), true, std::move(detail),
                              std::move(back_on_strand)});
  }

  asio::awaitable<void> write(std::optional<StoredRoom> snapshot, std::string name, std::optional<Element> reply) {
    auto work = [store = store_, &snapshot, &name, domain = service_.str()](xmppd::storage::Storage&) {
      if (snapshot) store->save(*snapshot);
      else store->remove(domain, name);
    };
    try {
      co_await ctx_->storage().run(work);
      xmppd::log::debug("muc: ", snapshot ? "stored" : "deleted", " room ", name, "@", service_.str());
    } catch (const std::exception& e) {
      xmppd::log::error("muc: cannot store the room ", name, "@", service_.str(), ": ", e.what());
      if (reply) {  // the owner must not believe it was saved
        reply->set_attr("type", "error");
        Element& error = reply->add_child("error", xmppd::ns::kClient);
        error.set_attr("type", "cancel");
        error.add_child("internal-server-error", xmppd::ns::kStanzaErrors);
      }
    }
    if (reply) ctx_->send(std::move(*reply));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  Jid service_;
  std::string service_name_;
  bool restrict_to_admins_ = false;
  std::set<std::string> creators_;
  RoomConfig defaults_;
  ServiceLimits limits_{};
  asio::any_io_executor strand_;
  std::shared_ptr<MucStore> store_;  // used on the storage thread only
  std::shared_ptr<archive::ArchiveStore> archive_store_;  // likewise
  std::unique_ptr<archive::ArchiveWriter> archive_writer_;
  std::size_t default_page_ = 50, max_page_ = 250;  // archive query pages
  std::int64_t archive_max_messages_ = 0;           // per room; 0: no limit
  std::map<std::string, std::unique_ptr<Room>> rooms_;  // by node
  std::set<std::string> stored_;                        // rooms with a row in the database
  bool stopped_ = false;                                // the server is shutting down
};

}  // namespace

XMPPD_MODULE("muc", MucModule);

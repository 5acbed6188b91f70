// XEP-0163 Personal Eventing Protocol: every account's bare JID is a PubSub service
// (XEP-0060, the engine in pubsub_service.hpp) of its own, where the account publishes its
// avatar, nickname, bookmarks and OMEMO keys. Nodes are made on first publish; the items go
// to the account's own resources and to contacts allowed by the node's access model whose
// entity capabilities ask for "<node>+notify", and the last ones to each such resource
// when it comes online. Bookmarks in private storage (XEP-0402 §5.3) and vCard photos
// (XEP-0398) are kept in step with their PEP forms.

#include <boost/asio/strand.hpp>

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <xmppd/caps.hpp>
#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "avatar_compat.hpp"
#include "avatar_hashes.hpp"
#include "bookmarks_compat.hpp"
#include "caps_book.hpp"
#include "event_cache.hpp"
#include "common/log.hpp"
#include "private_store.hpp"
#include "pubsub_service.hpp"
#include "storage/roster_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using namespace pep;
using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;
using xmppd::storage::Subscription;

constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kItems = "http://jabber.org/protocol/disco#items";
constexpr const char* kPrivate = "jabber:iq:private";
constexpr const char* kVcard = "vcard-temp";

class PepModule final : public xmppd::Module {
 public:
  bool reload() override {
    service_->read_limits(ctx_->config(), 256, 200);  // per account
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    strand_ = asio::make_strand(ctx.executor());
    auto store = ctx.storage().call([](xmppd::storage::Storage& s) { return std::make_shared<PubsubStore>(s.database()); });
    // XEP-0163 §4: the account alone creates nodes on its JID; a node's readers hear of it
    // on each resource whose caps ask for it.
    auto owner_only = [](const Jid& service, const Jid& requester) { return service == requester.bare(); };
    auto by_caps = [this](const std::string& node, const std::vector<std::string>& readers) {
      return caps_.wanting(node, readers);
    };
    service_ = std::make_unique<PubsubService>(ctx, std::move(store), NodeConfig{}, owner_only, by_caps);
    reload();
    for (const char* f : PubsubService::features()) ctx.add_account_feature(f);
    ctx.add_account_identity("pubsub", "pep", "");  // XEP-0163 §9
    ctx.add_account_feature(kItems);
    ctx.on_iq(xmppd::IqTarget::account, "get", kItems, [this](Element iq) { on_strand(&PubsubService::on_items, std::move(iq)); });
    ctx.add_feature("http://jabber.org/protocol/pubsub#publish");  // servers advertise PEP support too
    for (const char* type : {"get", "set"}) {
      ctx.on_iq(xmppd::IqTarget::account, type, kPubsub, [this](Element iq) { on_strand(&PubsubService::on_pubsub, std::move(iq)); });
      ctx.on_iq(xmppd::IqTarget::account, type, kPubsubOwner, [this](Element iq) { on_strand(&PubsubService::on_owner, std::move(iq)); });
    }
    ctx.on_presence_broadcast(0, [this](xmppd::PresenceEvent& e) {
      on_presence(e.from, e.presence);
      return HookResult::pass;
    });
    // XEP-0402 §5.3: bookmarks a client keeps in private storage (XEP-0048) and those in
    // PEP are one list.
    ctx.add_account_feature(std::string(kBookmarks) + "#compat");
    private_ = ctx.storage().call([](xmppd::storage::Storage& s) {
      return std::make_shared<private_storage::PrivateStore>(s.database());
    });
    // XEP-0398: an avatar set as a vCard photo is the PEP avatar too, and the other way.
    ctx.add_account_feature("urn:xmpp:pep-vcard-conversion:0");
    ctx.on_outgoing(0, [this](xmppd::StanzaEvent& e) {
      const Element& iq = e.stanza;
      if (iq.name() != "iq" || iq.attr_or("type") != "set" || e.to != e.from.bare()) return HookResult::pass;
      if (const Element* query = iq.child("query", kPrivate))
        if (const Element* storage = query->child("storage", kLegacyBookmarks)) on_legacy_bookmarks(e.from.bare(), *storage);
      if (const Element* vcard = iq.child("vCard", kVcard)) on_vcard(e.from.bare(), *vcard);
      return HookResult::pass;
    });
    service_->on_changed([this](const Jid& service, const std::string& node) {
      if (node == kBookmarks) run(write_legacy_bookmarks(service));
      if (node == kAvatarMetadata) run(write_vcard_photo(service));
    });
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& e) {
      caps_.forget(e.jid);
      std::lock_guard lock(mutex_);
      greeted_.erase(e.jid.str());
      return HookResult::pass;
    });
  }

 private:
  // The service is the account the IQ is addressed to, or the sender's own.
  void on_strand(asio::awaitable<void> (PubsubService::*handler)(Element, Jid), Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    if (!from) return;
    auto to = Jid::parse(iq.attr_or("to"));
    Jid service = to ? to->bare() : from->bare();
    run(((*service_).*handler)(std::move(iq), std::move(service)));
  }

  // Everything runs one at a time, in order, on the strand: a publish and the read after
  // it never cross, nor two conversions of one account's data.
  void run(asio::awaitable<void> work) { ctx_->spawn(strand_, std::move(work)); }

  // An old client stores XEP-0048 bookmarks in private storage (the private module answers
  // it): the PEP node follows.
  void on_legacy_bookmarks(const Jid& account, const Element& storage) {
    std::vector<Item> items = items_of_legacy(storage);
    for (Item& item : items) item.publisher = account.bare_str();
    run(service_->replace_items(account, kBookmarks, std::move(items), bookmarks_node_config()));
  }

  // A client sets its vCard (the vcard module answers it): its photo becomes the PEP avatar.
  void on_vcard(const Jid& account, const Element& vcard) {
    run(publish_vcard_avatar(account, avatar_items_of_vcard(vcard)));
  }

  asio::awaitable<void> publish_vcard_avatar(Jid account, AvatarItems items) {
    NodeConfig config = avatar_node_config();
    if (items.data) {  // XEP-0084 §4.3: the data before the metadata that names it
      items.data->publisher = account.bare_str();
      std::vector<Item> data{*items.data};
      std::string node = kAvatarData;
      co_await service_->replace_items(account, node, std::move(data), config);
    }
    items.metadata.publisher = account.bare_str();
    std::vector<Item> metadata{items.metadata};
    std::string node = kAvatarMetadata;
    co_await service_->replace_items(account, node, std::move(metadata), config);
  }

  // A client published new avatar metadata: the vCard photo follows, through the vcard
  // module (as the account's own request), which then announces its hash in presence.
  asio::awaitable<void> write_vcard_photo(Jid account) {
    struct Avatar {
      bool disabled = false;
      std::optional<Image> image;
    };
    auto work = [service = service_.get(), account = account.bare_str()](xmppd::storage::Storage&) {
      Avatar out;
      PubsubStore& store = service->store();
      std::vector<Item> metadata = store.items(account, kAvatarMetadata, 1, {});
      if (metadata.empty()) return out;
      out.disabled = avatar_disabled(metadata.back());
      auto meta = Element::parse(metadata.back().payload, "");
      const Element* info = meta ? meta->child("info", kAvatarMetadata) : nullptr;
      std::vector<Item> data;
      if (info) data = store.items(account, kAvatarData, 0, {std::string(info->attr_or("id"))});
      out.image = image_of(metadata.back(), data.empty() ? std::nullopt : std::optional<Item>(data.back()));
      return out;
    };
    Avatar avatar = co_await ctx_->storage().run(work);
    if (!avatar.disabled && !avatar.image) co_return;  // nothing a vCard can hold
    Element get("iq", xmppd::ns::kClient);
    get.set_attr("type", "get");
    get.set_attr("from", account.bare_str());
    get.set_attr("to", account.bare_str());
    get.add_child("vCard", kVcard);
    ctx_->send_iq(std::move(get), [this, account, image = avatar.image](const Element& reply) {
      const Element* current = reply.child("vCard", kVcard);
      if (reply.attr_or("type") != "result") return;
      Element vcard = current ? *current : Element("vCard", kVcard);
      if (vcard::photo_hash(vcard) == (image ? image->hash : std::string())) return;  // already so
      Element set("iq", xmppd::ns::kClient);
      set.set_attr("type", "set");
      set.set_attr("from", account.bare_str());
      set.set_attr("to", account.bare_str());
      set.add_child(vcard_with_photo(std::move(vcard), image));
      ctx_->send_iq(std::move(set), [account, hash = image ? image->hash : "none"](const Element& done) {
        if (done.attr_or("type") == "result") xmppd::log::debug("pep: the vCard photo of ", account.bare_str(), " is now ", hash);
        else xmppd::log::info("pep: the vCard photo of ", account.bare_str(), " was not updated");
      });
    });
  }

  // A client changed the PEP bookmarks: private storage follows, for old clients.
  asio::awaitable<void> write_legacy_bookmarks(Jid account) {
    auto work = [service = service_.get(), legacy = private_, account](xmppd::storage::Storage&) {
      std::vector<Item> items = service->store().items(account.bare_str(), kBookmarks, 0, {});
      std::optional<std::string> stored = legacy->get(account.node(), account.domain(), "storage", kLegacyBookmarks);
      std::optional<Element> previous = stored ? Element::parse(*stored) : std::nullopt;
      Element storage = legacy_of_items(items, previous ? &*previous : nullptr);
      legacy->set(account.node(), account.domain(), {{"storage", kLegacyBookmarks, storage.str()}}, INT64_MAX);
    };
    co_await ctx_->storage().run(work);
  }

  // A local resource became available, or changed its presence: learn its caps (once per
  // ver), and when known, send it the last item of every node it may read and asked for:
  // the account's own, and those of its contacts whose presence it receives (XEP-0163 §6.2).
  void on_presence(const Jid& full, const Element& presence) {
    if (presence.attr("type")) {
      caps_.forget(full);
      std::lock_guard lock(mutex_);
      greeted_.erase(full.str());
      return;
    }
    const Element* c = presence.child("c", xmppd::caps::kCaps);
    if (!c || c->attr_or("hash") != "sha-1" || c->attr_or("ver").empty()) return;
    std::string ver(c->attr_or("ver"));
    if (caps_.announce(full, ver)) return ask_caps(full, std::string(c->attr_or("node")), ver);
    if (caps_.known(full)) greet(full, ver);  // its last items now
  }

  void ask_caps(const Jid& full, const std::string& node, const std::string& ver) {
    Element iq("iq", xmppd::ns::kClient);
    iq.set_attr("type", "get");
    iq.set_attr("from", ctx_->host());
    iq.set_attr("to", full.str());
    Element& q = iq.add_child("query", kInfo);
    if (!node.empty()) q.set_attr("node", node + "#" + ver);
    ctx_->send_iq(std::move(iq), [this, ver](const Element& reply) {
      const Element* query = reply.child("query", kInfo);
      std::optional<std::set<std::string>> features;
      if (reply.attr_or("type") == "result" && query && xmppd::caps::ver(*query) == ver) {
        features.emplace();
        for (const Element& f : query->nodes())
          if (f.is("feature", kInfo)) features->insert(std::string(f.attr_or("var")));
      } else {
        xmppd::log::debug("pep: caps ", ver, " not verified; asked again on the next presence");
      }
      bool verified = features.has_value();
      caps_.learned(ver, std::move(features));
      if (!verified) return;
      for (const Jid& jid : caps_.announcing(ver)) greet(jid, ver);
    });
  }

  // The last published item of each node the resource may read and asked for: when it
  // comes online, and again when its caps change (it may ask for more now).
  void greet(const Jid& full, const std::string& ver) {
    xmppd::log::debug("pep: ", full.str(), " has caps ", ver);
    {
      std::lock_guard lock(mutex_);
      auto [it, fresh] = greeted_.try_emplace(full.str(), ver);
      if (!fresh && it->second == ver) return;
      it->second = ver;
    }
    run(send_last_items(full));
  }

  asio::awaitable<void> send_last_items(Jid full) {
    struct Last {
      std::string service, node;
      Item item;
    };
    auto work = [service = service_.get(), full](xmppd::storage::Storage& s) {
      PubsubStore& store = service->store();
      xmppd::storage::Database::ReadTransaction snapshot(s.database());
      std::vector<Last> out;
      // Whose nodes this user may read: its own, and those of the contacts whose presence
      // it receives (their rosters decide, as on a request).
      std::vector<std::string> services{full.bare_str()};
      for (const auto& item : s.roster().items(full.node(), full.domain()))
        if (item.subscription == Subscription::to || item.subscription == Subscription::both) services.push_back(item.jid);
      std::string reader = full.bare_str();
      for (const std::string& service : services) {
        auto at = service.find('@');
        if (at == std::string::npos) continue;
        std::vector<PubsubStore::LastItem> last = store.last_items(service);
        if (last.empty()) continue;
        // The reader's standing there. Its roster says the contact shares presence with it
        // (the server keeps both sides of a local subscription), which is what the
        // presence model asks; the contact's own roster item is read only for the roster
        // model, and the affiliations (whitelists, outcasts) per node.
        std::map<std::string, Affiliation> affiliations;
        std::optional<std::optional<xmppd::storage::RosterItem>> contact_item;
        if (service != reader)
          for (auto& [node, a] : store.affiliations_of(service, reader)) affiliations.emplace(node, a);
        for (PubsubStore::LastItem& l : last) {
          if (l.config.send_last != "on_sub_and_presence") continue;
          Standing standing;
          if (service == reader) {
            standing.affiliation = Affiliation::owner;
          } else {
            auto a = affiliations.find(l.node);
            if (a != affiliations.end()) standing.affiliation = a->second;
            if (l.config.access == Access::roster) {
              if (!contact_item) contact_item = s.roster().item(service.substr(0, at), service.substr(at + 1), reader);
              if (*contact_item) standing.contacts.push_back(**contact_item);
            } else {
              xmppd::storage::RosterItem shares;
              shares.jid = reader;
              shares.subscription = Subscription::from;
              standing.contacts.push_back(std::move(shares));
            }
          }
          if (may_read(l.config, standing)) out.push_back({service, std::move(l.node), std::move(l.item)});
        }
      }
      return out;
    };
    std::vector<Last> last = co_await ctx_->storage().run(work);
    std::optional<Jid> service;  // the items come grouped by service: parsed once for each
    const std::vector<Jid> to{full};
    for (const Last& l : last) {
      if (!caps_.wants(full, l.node).value_or(false)) continue;
      if (!service || service->bare_str() != l.service) service = Jid::parse(l.service);
      if (!service) continue;
      // As the fan-out of a publish goes: straight to the session (blocklists apply).
      auto build = [&service, &l] { return PubsubService::item_event(*service, l.node, l.item); };
      ctx_->send_to_many(events_.get(l.service, l.node, l.item.id, l.item.payload, build), to);
    }
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  asio::any_io_executor strand_;
  std::unique_ptr<PubsubService> service_;
  std::shared_ptr<private_storage::PrivateStore> private_;  // used on the storage thread only
  CapsBook caps_;
  EventCache events_;  // used on strand_
  std::mutex mutex_;                            // guards greeted_
  std::map<std::string, std::string> greeted_;  // full JID → the caps its last items were sent for
};

}  // namespace

XMPPD_MODULE("pep", PepModule);

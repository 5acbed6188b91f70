// XEP-0054 vcard-temp: each account stores one vCard, which its owner sets and anyone on
// the server may read (the server answers for the account).

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "storage/storage_thread.hpp"
#include "avatar_hashes.hpp"
#include "vcard_store.hpp"

namespace {

using xmppd::Element;
using xmppd::Jid;

constexpr const char* kVcard = "vcard-temp";
constexpr const char* kUpdate = "vcard-temp:x:update";

// An error reply without the request's payload: a refused vCard can be large.
Element error_reply(const Element& iq, std::string_view condition, std::string_view text = {}) {
  Element request = iq;
  request.clear_children();
  return xmppd::stanza::error(request, condition, text);
}

class VcardModule final : public xmppd::Module {
 public:
  bool reload() override {
    max_bytes_ = std::size_t(ctx_->config().integer("max_bytes", 64 * 1024, 256, 16 * 1024 * 1024));
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    reload();
    store_ = ctx.storage().call(
        [](xmppd::storage::Storage& s) { return std::make_shared<vcard::VcardStore>(s.database()); });
    ctx.add_feature(kVcard);
    ctx.on_iq(xmppd::IqTarget::account, "get", kVcard, [this](Element iq) { get(std::move(iq)); });
    ctx.on_iq(xmppd::IqTarget::account, "set", kVcard, [this](Element iq) { set(std::move(iq)); });
    ctx.on_session_bound(0, [this](xmppd::SessionEvent& e) {
      if (!hashes_.get(e.jid.bare_str())) load_hash(e.jid.bare());
      return xmppd::HookResult::pass;
    });
    // Before the presence module broadcasts it (priority 0).
    ctx.on_presence_broadcast(10, [this](xmppd::PresenceEvent& e) {
      add_photo_hash(e.from, e.presence);
      return xmppd::HookResult::pass;
    });
    // Directed presence too, a room join above all: the occupant's avatar shows there.
    ctx.on_outgoing(0, [this](xmppd::StanzaEvent& e) {
      if (e.stanza.name() == "presence" && e.from.bare() != e.to.bare()) add_photo_hash(e.from, e.stanza);
      return xmppd::HookResult::pass;
    });
  }

 private:
  // §3.1/§3.3: the owner without a vCard gets an empty one; others get item-not-found,
  // whether the account has no vCard or does not exist (the two are not told apart).
  void get(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || !to) return ctx_->send(error_reply(iq, "bad-request"));
    auto task = [this, iq = std::move(iq), owner = to->bare(),
                 own = to->bare() == from->bare()]() -> boost::asio::awaitable<void> {
      auto read = [vcard_store = store_, &owner](xmppd::storage::Storage&) {
        return vcard_store->get(owner.node(), owner.domain());
      };
      std::optional<std::string> stored;
      try {
        stored = co_await ctx_->storage().run(read);
      } catch (const std::exception& e) {
        xmppd::log::error("vcard: cannot read the vCard of ", owner.bare_str(), ": ", e.what());
        co_return ctx_->send(error_reply(iq, "internal-server-error"));
      }
      std::optional<Element> vcard = stored ? Element::parse(*stored) : std::nullopt;
      if (stored && !vcard) xmppd::log::error("vcard: the stored vCard of ", owner.bare_str(), " is unreadable");
      if (!vcard && !own) co_return ctx_->send(error_reply(iq, "item-not-found"));
      Element reply = xmppd::stanza::iq_result(iq);
      reply.add_child(vcard ? std::move(*vcard) : Element("vCard", kVcard));
      ctx_->send(std::move(reply));
    };
    ctx_->spawn(std::move(task));
  }

  // §3.2: only the owner may set; a vCard over max_bytes (serialized) is refused with
  // not-acceptable: a permanent policy of this server, so not the "wait" of
  // resource-constraint, which tells the client to retry.
  void set(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || !to || to->bare() != from->bare()) return ctx_->send(error_reply(iq, "forbidden"));
    std::string text = iq.child("vCard", kVcard) ? iq.child("vCard", kVcard)->str() : std::string();
    if (text.empty()) return ctx_->send(error_reply(iq, "bad-request"));
    if (text.size() > max_bytes_)
      return ctx_->send(error_reply(iq, "not-acceptable", "The vCard is larger than this server accepts"));
    auto task = [this, iq = std::move(iq), owner = to->bare(),
                 text = std::move(text)]() -> boost::asio::awaitable<void> {
      auto write = [vcard_store = store_, &owner, &text](xmppd::storage::Storage&) {
        vcard_store->set(owner.node(), owner.domain(), text);
      };
      try {
        co_await ctx_->storage().run(write);
      } catch (const std::exception& e) {
        xmppd::log::error("vcard: cannot store the vCard of ", owner.bare_str(), ": ", e.what());
        co_return ctx_->send(error_reply(iq, "internal-server-error"));
      }
      if (auto vcard = Element::parse(text)) hashes_.set(owner.bare_str(), vcard::photo_hash(*vcard));
      ctx_->send(xmppd::stanza::iq_result(iq));
    };
    ctx_->spawn(std::move(task));
  }

  // XEP-0153 §4.1: available presence says which photo the user has, unless the client
  // already said so itself. Until the vCard has been read (just after login), nothing.
  void add_photo_hash(const Jid& from, Element& presence) {
    if (presence.attr("type") || presence.child("x", kUpdate)) return;
    auto hash = hashes_.get(from.bare_str());
    if (!hash) return;
    Element& photo = presence.add_child("x", kUpdate).add_child("photo", kUpdate);
    if (!hash->empty()) photo.add_text(*hash);
  }

  void load_hash(Jid owner) {
    auto task = [this, owner]() -> boost::asio::awaitable<void> {
      auto read = [vcard_store = store_, &owner](xmppd::storage::Storage&) {
        return vcard_store->get(owner.node(), owner.domain());
      };
      std::optional<std::string> stored = co_await ctx_->storage().run(read);
      std::optional<Element> vcard = stored ? Element::parse(*stored) : std::nullopt;
      hashes_.set(owner.bare_str(), vcard ? vcard::photo_hash(*vcard) : std::string());
    };
    ctx_->spawn(std::move(task));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  vcard::AvatarHashes hashes_;
  std::atomic<std::size_t> max_bytes_{64 * 1024};
  std::shared_ptr<vcard::VcardStore> store_;  // used on the storage thread only
};

}  // namespace

XMPPD_MODULE("vcard", VcardModule);

// XEP-0049 Private XML Storage: an account keeps namespaced XML fragments on the server,
// readable and writable by that account only.

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "private_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

using private_storage::Fragment;
using xmppd::Element;
using xmppd::Jid;

constexpr const char* kPrivate = "jabber:iq:private";

// §3: namespaces reserved by Jabber protocols, which clients must not store here.
bool reserved(std::string_view ns) {
  return ns.starts_with("jabber:") || ns.starts_with("http://jabber.org/") || ns == "vcard-temp";
}

std::vector<const Element*> child_elements(const Element& query) {
  std::vector<const Element*> out;
  for (const Element& n : query.nodes())
    if (!n.is_text()) out.push_back(&n);
  return out;
}

// An error reply without the request's payload: a refused fragment can be large.
Element error_reply(const Element& iq, std::string_view condition, std::string_view text = {}) {
  Element request = iq;
  request.clear_children();
  return xmppd::stanza::error(request, condition, text);
}

class PrivateModule final : public xmppd::Module {
 public:
  bool reload() override {
    max_bytes_ = ctx_->config().integer("max_bytes", 256 * 1024, 1024, 64 * 1024 * 1024);
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    reload();
    store_ = ctx.storage().call([](xmppd::storage::Storage& s) {
      return std::make_shared<private_storage::PrivateStore>(s.database());
    });
    ctx.on_iq(xmppd::IqTarget::account, "get", kPrivate, [this](Element iq) { get(std::move(iq)); });
    ctx.on_iq(xmppd::IqTarget::account, "set", kPrivate, [this](Element iq) { set(std::move(iq)); });
  }

 private:
  // The account the request is about, if the sender is that account (§3: forbidden otherwise).
  std::optional<Jid> own_account(const Element& iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    auto to = Jid::parse(iq.attr_or("to"));
    if (!from || !to || from->bare() != to->bare()) {
      ctx_->send(error_reply(iq, "forbidden"));
      return std::nullopt;
    }
    return to->bare();
  }

  // §3: one element names the fragment (bad-request otherwise); the answer holds the stored
  // fragment, or the empty element asked for when there is none.
  void get(Element iq) {
    auto owner = own_account(iq);
    if (!owner) return;
    auto wanted = child_elements(*iq.child("query", kPrivate));
    if (wanted.size() != 1) return ctx_->send(error_reply(iq, "bad-request", "Ask for exactly one element"));
    if (reserved(wanted[0]->ns())) return ctx_->send(error_reply(iq, "not-acceptable", "Reserved namespace"));
    Element empty(wanted[0]->name(), wanted[0]->ns());
    auto task = [this, iq = std::move(iq), owner = std::move(*owner),
                 empty = std::move(empty)]() -> boost::asio::awaitable<void> {
      auto read = [private_store = store_, &owner, &empty](xmppd::storage::Storage&) {
        return private_store->get(owner.node(), owner.domain(), empty.name(), empty.ns());
      };
      std::optional<std::string> stored;
      try {
        stored = co_await ctx_->storage().run(read);
      } catch (const std::exception& e) {
        xmppd::log::error("private: cannot read for ", owner.bare_str(), ": ", e.what());
        co_return ctx_->send(error_reply(iq, "internal-server-error"));
      }
      std::optional<Element> fragment = stored ? Element::parse(*stored) : std::nullopt;
      if (stored && !fragment) xmppd::log::error("private: a stored fragment of ", owner.bare_str(), " is unreadable");
      Element reply = xmppd::stanza::iq_result(iq);
      reply.add_child("query", kPrivate).add_child(fragment ? std::move(*fragment) : empty);
      ctx_->send(std::move(reply));
    };
    ctx_->spawn(std::move(task));
  }

  // §3: at least one namespaced element (not-acceptable otherwise); the account's fragments
  // together stay within max_bytes, or the whole set is refused with not-acceptable.
  void set(Element iq) {
    auto owner = own_account(iq);
    if (!owner) return;
    std::vector<Fragment> fragments;
    for (const Element* e : child_elements(*iq.child("query", kPrivate))) {
      if (e->ns().empty() || e->ns() == kPrivate || reserved(e->ns()))
        return ctx_->send(error_reply(iq, "not-acceptable", "Reserved or missing namespace"));
      fragments.push_back(Fragment{e->name(), e->ns(), e->str()});
    }
    if (fragments.empty()) return ctx_->send(error_reply(iq, "not-acceptable", "Nothing to store"));
    auto task = [this, iq = std::move(iq), owner = std::move(*owner),
                 fragments = std::move(fragments)]() -> boost::asio::awaitable<void> {
      auto write = [private_store = store_, &owner, &fragments, max = max_bytes_.load()](xmppd::storage::Storage&) {
        return private_store->set(owner.node(), owner.domain(), fragments, max);
      };
      bool stored = false;
      try {
        stored = co_await ctx_->storage().run(write);
      } catch (const std::exception& e) {
        xmppd::log::error("private: cannot store for ", owner.bare_str(), ": ", e.what());
        co_return ctx_->send(error_reply(iq, "internal-server-error"));
      }
      if (!stored) co_return ctx_->send(error_reply(iq, "not-acceptable", "Private storage quota exceeded"));
      ctx_->send(xmppd::stanza::iq_result(iq));
    };
    ctx_->spawn(std::move(task));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::atomic<std::int64_t> max_bytes_{256 * 1024};
  std::shared_ptr<private_storage::PrivateStore> store_;  // used on the storage thread only
};

}  // namespace

XMPPD_MODULE("private", PrivateModule);

// XEP-0280 Message Carbons: every resource of an account that enabled carbons sees the
// account's one-to-one conversations, including what its other resources sent and what
// was addressed to them.
#include <algorithm>
#include <array>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <xmppd/module.hpp>
#include <xmppd/namespaces.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"

namespace {

using xmppd::Element;
using xmppd::HookResult;
using xmppd::Jid;

constexpr const char* kCarbons = "urn:xmpp:carbons:2";
constexpr const char* kForward = "urn:xmpp:forward:0";
constexpr const char* kHints = "urn:xmpp:hints";
constexpr const char* kMucUser = "http://jabber.org/protocol/muc#user";

// XEP-0280 §6: one-to-one messages are copied (chat; normal with a body or with the
// chat states, receipts and markers clients show); group chat, headlines, errors, what a
// sender marked private or no-copy, and carbons themselves are not.
bool eligible(const Element& message) {
  std::string_view type = message.attr_or("type", "normal");
  if (type != "chat" && type != "normal") return false;
  if (message.child("private", kCarbons) || message.child("no-copy", kHints)) return false;
  if (message.child("sent", kCarbons) || message.child("received", kCarbons)) return false;
  if (type == "chat") return true;
  for (const Element& n : message.nodes()) {
    if (n.is("body", xmppd::ns::kClient)) return true;
    const std::string& ns = n.ns();
    if (ns == "http://jabber.org/protocol/chatstates" || ns == "urn:xmpp:receipts" || ns == "urn:xmpp:chat-markers:0")
      return true;
  }
  return false;
}

// Which resources of each account have carbons enabled. Hooks run on every network
// thread: sharded, so that one-to-one traffic of different accounts takes different locks.
class EnabledResources {
 public:
  void set(const Jid& full, bool enabled) {
    Shard& s = shard(full.bare_str());
    std::lock_guard lock(s.mutex);
    auto& resources = s.accounts[full.bare_str()];
    std::erase(resources, full.resource());
    if (enabled) resources.push_back(full.resource());
    if (resources.empty()) s.accounts.erase(full.bare_str());
  }
  // The account's enabled resources other than `except` (empty for none).
  std::vector<std::string> others(const Jid& account, std::string_view except) {
    std::string bare = account.bare_str();
    Shard& s = shard(bare);
    std::lock_guard lock(s.mutex);
    std::vector<std::string> out;
    if (auto it = s.accounts.find(bare); it != s.accounts.end())
      for (const auto& r : it->second)
        if (r != except) out.push_back(r);
    return out;
  }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<std::string>> accounts;  // bare JID → resources
  };
  Shard& shard(const std::string& bare) { return shards_[std::hash<std::string>{}(bare) % shards_.size()]; }
  std::array<Shard, 16> shards_;
};

class CarbonsModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    ctx.add_feature(kCarbons);
    for (auto target : {xmppd::IqTarget::account, xmppd::IqTarget::server})
      ctx.on_iq(target, "set", kCarbons, [this](Element iq) { on_iq(std::move(iq)); });
    ctx.on_session_closed(0, [this](xmppd::SessionEvent& e) {
      enabled_.set(e.jid, false);
      return HookResult::pass;
    });
    ctx.on_outgoing(0, [this](xmppd::StanzaEvent& e) {
      if (e.stanza.name() == "message" && e.from.bare() != e.to.bare() && eligible(e.stanza))
        copy(e.stanza, e.from, "sent");
      return HookResult::pass;
    });
    ctx.on_incoming(0, [this](xmppd::StanzaEvent& e) {
      // A private message from a room occupant is for the resource in the room only.
      if (e.stanza.name() == "message" && !e.to.is_bare() && e.from.bare() != e.to.bare() &&
          eligible(e.stanza) && !e.stanza.child("x", kMucUser))
        copy(e.stanza, e.to, "received");
      return HookResult::pass;
    });
  }

 private:
  void on_iq(Element iq) {
    auto from = Jid::parse(iq.attr_or("from"));
    const Element* payload = iq.first_child();
    if (!from || from->is_bare() || !payload) return ctx_->send(xmppd::stanza::error(iq, "bad-request"));
    // Only for oneself: the request comes from the account's own session.
    if (auto to = Jid::parse(iq.attr_or("to")); to && !to->node().empty() && to->bare() != from->bare())
      return ctx_->send(xmppd::stanza::error(iq, "forbidden"));
    if (payload->name() != "enable" && payload->name() != "disable")
      return ctx_->send(xmppd::stanza::error(iq, "bad-request"));
    enabled_.set(*from, payload->name() == "enable");
    xmppd::log::debug("carbons: ", from->str(), ' ', payload->name(), 'd');
    ctx_->send(xmppd::stanza::iq_result(iq));
  }

  // `resource` (a full JID of the account) sent or was sent `message`: the account's
  // other enabled resources get it wrapped (XEP-0280 §7, §8).
  void copy(const Element& message, const Jid& resource, const char* direction) {
    std::vector<std::string> others = enabled_.others(resource, resource.resource());
    if (others.empty()) return;
    Jid account = resource.bare();
    Element wrapper("message", xmppd::ns::kClient);
    wrapper.set_attr("from", account.str());
    wrapper.set_attr("type", std::string(message.attr_or("type", "normal")));
    Element& forwarded = wrapper.add_child(direction, kCarbons).add_child("forwarded", kForward);
    Element original = message;
    if (!original.attr("to")) original.set_attr("to", account.str());
    forwarded.add_child(std::move(original));
    for (const std::string& r : others) {
      auto to = Jid::make(account.node(), account.domain(), r);
      if (!to) continue;
      Element copy = wrapper;
      copy.set_attr("to", to->str());
      ctx_->send(std::move(copy));
    }
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  EnabledResources enabled_;
};

}  // namespace

XMPPD_MODULE("carbons", CarbonsModule);

// A virtual host as modules shape it: the IQ handlers, hooks and features its enabled
// modules registered. Filled while the modules start, read-only once the server serves.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/module.hpp>

#include "module/hook_list.hpp"

namespace xmppd::module {

struct Host {
  explicit Host(std::string domain) : domain(std::move(domain)) {}

  // The handler for an IQ of `type` whose payload is in `ns`, or nullptr.
  const ModuleContext::IqHandler* iq_handler(IqTarget target, std::string_view type, std::string_view ns) const {
    std::string key(type);
    key.append(1, ' ').append(ns);
    auto it = iq_handlers.find(std::pair{target, key});
    return it == iq_handlers.end() ? nullptr : &it->second;
  }

  std::string domain;
  std::map<std::pair<IqTarget, std::string>, ModuleContext::IqHandler> iq_handlers;  // "type ns"
  std::map<std::string, ModuleContext::UnauthenticatedIqHandler, std::less<>> unauthenticated_iq;  // by ns
  std::vector<Jid> admins;  // bare JIDs
  HookList<SessionEvent> session_bound;
  HookList<SessionEvent> session_closed;
  HookList<SessionEvent> session_hibernated;
  HookList<SessionEvent> session_resumed;
  HookList<PresenceEvent> presence_broadcast;
  HookList<StanzaEvent> outgoing;
  HookList<StanzaEvent> incoming;
  HookList<StanzaEvent> undelivered;
  HookList<AccountEvent> account_deleted;
  std::vector<std::string> features;
  std::vector<std::string> account_features;
  std::vector<Element> account_identities;
  std::vector<Element> identities;
  std::vector<ModuleContext::StreamFeatureProvider> stream_features;
  std::vector<std::string> components;  // domains served by this host's modules
  std::vector<ModuleContext::DeliveryFilter> delivery_filters;  // set at start, then only read
};

}  // namespace xmppd::module

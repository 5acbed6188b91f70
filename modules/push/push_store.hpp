// The push_registrations table: which app servers (XEP-0357) an account asked to be
// notified through. Blocking: used on the storage thread only.
#pragma once

#include <string>
#include <vector>

#include "storage/database.hpp"

namespace push {

struct Registration {
  std::string service;  // the app server's JID
  std::string node;
  std::string options;  // the publish-options form, serialized (may be empty)
};

class PushStore {
 public:
  explicit PushStore(xmppd::storage::Database& db);
  // Adds or replaces (service, node); false if the account already has `max` others.
  bool add(const std::string& user, const std::string& domain, const Registration& r, std::int64_t max);
  // Removes (service, node), or every node of the service when `node` is empty.
  void remove(const std::string& user, const std::string& domain, const std::string& service,
              const std::string& node);
  std::vector<Registration> list(const std::string& user, const std::string& domain);

 private:
  xmppd::storage::Database& db_;
  xmppd::storage::Statement count_;
  xmppd::storage::Statement upsert_;
  xmppd::storage::Statement remove_node_;
  xmppd::storage::Statement remove_service_;
  xmppd::storage::Statement select_;
};

}  // namespace push

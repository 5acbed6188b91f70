// Accounts and their SCRAM secrets. Blocking: call on the storage thread (see StorageThread).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/scram.hpp"

namespace xmppd::storage {

using Secrets = std::vector<auth::ScramSecret>;

class AccountStore {
 public:
  virtual ~AccountStore() = default;
  // `user` and `domain` are already normalized (nodeprep / nameprep).
  virtual bool create(const std::string& user, const std::string& domain, const Secrets&) = 0;  // false: exists
  virtual std::optional<Secrets> secrets(const std::string& user, const std::string& domain) = 0;  // nullopt: no such user
  virtual bool set_secrets(const std::string& user, const std::string& domain, const Secrets&) = 0;  // false: no such user
  virtual bool remove(const std::string& user, const std::string& domain) = 0;  // false: no such user
  virtual bool exists(const std::string& user, const std::string& domain) = 0;
  virtual std::vector<std::string> list(const std::string& domain) = 0;  // user names, sorted
};

}  // namespace xmppd::storage

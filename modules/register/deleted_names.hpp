// Names of deleted accounts, remembered for a while: someone registering a name just given
// up would be taken by the old owner's contacts for the old owner. The accounts table's
// triggers keep the list, however an account is deleted (in-band, xmppctl). Blocking: use
// on the storage thread only.
#pragma once

#include <chrono>
#include <string>

#include "storage/database.hpp"

namespace xmppd::registration {

class DeletedNames {
 public:
  explicit DeletedNames(storage::Database& db);
  // Whether the account was deleted less than `hold` ago.
  bool held(const std::string& user, const std::string& domain, std::chrono::seconds hold);

 private:
  storage::Database& db_;
};

}  // namespace xmppd::registration

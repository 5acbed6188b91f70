// The vcards table: one serialized vcard-temp <vCard/> per account.
// Blocking: used on the storage thread only.
#pragma once

#include <optional>
#include <string>

#include "storage/database.hpp"

namespace vcard {

class VcardStore {
 public:
  // Creates or upgrades the table; then prepares the statements.
  explicit VcardStore(xmppd::storage::Database& db);

  std::optional<std::string> get(const std::string& user, const std::string& domain);
  // Replaces the account's vCard; committed when this returns.
  void set(const std::string& user, const std::string& domain, const std::string& vcard);

 private:
  xmppd::storage::Statement select_;
  xmppd::storage::Statement upsert_;
};

}  // namespace vcard

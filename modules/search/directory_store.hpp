// Who is listed in the user directory (XEP-0055), and the vCards searched there.
// Blocking: used on the storage thread only.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace search {

struct Listed {
  std::string username;
  std::string vcard;  // serialized <vCard/>, empty if the account has none
};

class DirectoryStore {
 public:
  explicit DirectoryStore(xmppd::storage::Database& db);

  // The account's own choice; nullopt if it never made one (the host's default applies).
  std::optional<bool> listed(const std::string& user, const std::string& domain);
  void set_listed(const std::string& user, const std::string& domain, bool listed);
  // Every listed account of the domain with its vCard; `by_default`: whether accounts that
  // never chose are listed.
  std::vector<Listed> listed_accounts(const std::string& domain, bool by_default);

 private:
  xmppd::storage::Database& db_;
};

}  // namespace search

// The private_xml table: XEP-0049 fragments per account, one per (element name, namespace).
// Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace private_storage {

struct Fragment {
  std::string name;  // root element's local name
  std::string ns;    // root element's namespace
  std::string xml;   // the serialized element
};

class PrivateStore {
 public:
  // Creates or upgrades the table; then prepares the statements.
  explicit PrivateStore(xmppd::storage::Database& db);

  std::optional<std::string> get(const std::string& user, const std::string& domain, const std::string& name,
                                 const std::string& ns);
  // Replaces the fragments with the same keys, all or none: false (nothing changed) if the
  // account's fragments would then exceed `max_bytes` in total.
  bool set(const std::string& user, const std::string& domain, const std::vector<Fragment>& fragments,
           std::int64_t max_bytes);

 private:
  xmppd::storage::Database& db_;
  xmppd::storage::Statement select_;
  xmppd::storage::Statement upsert_;
  xmppd::storage::Statement total_;
};

}  // namespace private_storage

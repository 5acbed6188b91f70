// The offline_messages table: stored messages per account, oldest first.
// Blocking: used on the storage thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace offline {

class OfflineStore {
 public:
  // Creates or upgrades the table; then prepares the statements.
  explicit OfflineStore(xmppd::storage::Database& db);

  struct NewMessage {
    std::string user;
    std::string domain;
    std::string stanza;
    std::int64_t max_messages;
    std::string sender;      // bare JID
    std::string message_id;  // what a retraction names it by (origin-id, else 'id')
    std::string retracts;    // a XEP-0424 retraction: the message_id it takes back first
  };
  // Appends the messages in order (a retraction first removes the sender's message it
  // names, if still stored), in one transaction (one fsync for the lot), each unless
  // its account already holds its max_messages, counting those of the batch stored before
  // it. Says which were stored. Throws, having stored none, if the transaction fails.
  std::vector<bool> add_all(const std::vector<NewMessage>& messages);
  // Removes and returns every stored message of the account, in arrival order.
  std::vector<std::string> take_all(const std::string& user, const std::string& domain);

 private:
  xmppd::storage::Database& db_;
  xmppd::storage::Statement count_;
  xmppd::storage::Statement insert_;
  xmppd::storage::Statement select_;
  xmppd::storage::Statement delete_;
  xmppd::storage::Statement retract_;
};

}  // namespace offline

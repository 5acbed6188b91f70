// The persistent rooms of a MUC service: configuration, affiliations and subject, in the
// muc_rooms and muc_affiliations tables. Blocking: used on the storage thread only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "storage/database.hpp"

namespace muc {

// What survives a restart, as plain strings (the module turns them back into a room).
struct StoredRoom {
  std::string service;  // conference.example.org
  std::string room;     // the room's node
  std::string config;   // the muc#roomconfig form, submitted (serialized <x/>)
  std::string subject;
  std::string subject_by;                             // nick that set it, empty: the room
  std::string subject_payloads;                       // what else its message carried (<thread/>, ...)
  std::map<std::string, std::string> affiliations;  // bare JID → owner/admin/member/outcast
  std::map<std::string, std::string> nicks;         // bare JID → the nick it registered (§7.10)
  std::map<std::string, std::string> reasons;       // bare JID → why its affiliation was given
};

class MucStore {
 public:
  explicit MucStore(xmppd::storage::Database& db);

  std::vector<StoredRoom> load(const std::string& service);
  // Replaces everything stored about the room, in one transaction.
  void save(const StoredRoom& room);
  void remove(const std::string& service, const std::string& room);

 private:
  xmppd::storage::Database& db_;
  xmppd::storage::Statement select_rooms_;
  xmppd::storage::Statement select_affiliations_;
  xmppd::storage::Statement upsert_room_;
  xmppd::storage::Statement delete_affiliations_;
  xmppd::storage::Statement insert_affiliation_;
  xmppd::storage::Statement delete_room_;
};

}  // namespace muc

#include "muc_store.hpp"

namespace muc {
namespace {

using xmppd::storage::Database;
using xmppd::storage::StatementUse;

// Append-only: a released step is never edited, a change is a new step.
const std::vector<std::string> kMigrations = {
    R"(CREATE TABLE muc_rooms(
         service TEXT NOT NULL,
         room TEXT NOT NULL,
         config TEXT NOT NULL,      -- muc#roomconfig form, type='submit'
         subject TEXT NOT NULL,
         subject_by TEXT NOT NULL,  -- occupant nick, or empty for the room itself
         PRIMARY KEY(service, room)
       );
       CREATE TABLE muc_affiliations(
         service TEXT NOT NULL,
         room TEXT NOT NULL,
         jid TEXT NOT NULL,          -- bare JID
         affiliation TEXT NOT NULL,  -- owner, admin, member, outcast
         PRIMARY KEY(service, room, jid),
         FOREIGN KEY(service, room) REFERENCES muc_rooms(service, room) ON DELETE CASCADE
       );)",
    R"(ALTER TABLE muc_rooms ADD COLUMN subject_payloads TEXT NOT NULL DEFAULT '';)",
    R"(ALTER TABLE muc_affiliations ADD COLUMN nick TEXT NOT NULL DEFAULT '';  -- registered (§7.10), or empty)",
    R"(ALTER TABLE muc_affiliations ADD COLUMN reason TEXT NOT NULL DEFAULT '';)",
};

Database& migrated(Database& db) {
  db.migrate("muc", kMigrations);
  return db;
}

}  // namespace

MucStore::MucStore(Database& db)
    : db_(migrated(db)),
      select_rooms_(db, "SELECT room, config, subject, subject_by, subject_payloads FROM muc_rooms WHERE service = ?1"),
      select_affiliations_(db, "SELECT room, jid, affiliation, nick, reason FROM muc_affiliations WHERE service = ?1"),
      upsert_room_(db,
                   "INSERT INTO muc_rooms(service, room, config, subject, subject_by, subject_payloads) "
                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(service, room) DO UPDATE SET config = ?3, "
                   "subject = ?4, subject_by = ?5, subject_payloads = ?6"),
      delete_affiliations_(db, "DELETE FROM muc_affiliations WHERE service = ?1 AND room = ?2"),
      insert_affiliation_(db, "INSERT INTO muc_affiliations(service, room, jid, affiliation, nick, reason) "
                              "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"),
      delete_room_(db, "DELETE FROM muc_rooms WHERE service = ?1 AND room = ?2") {}

std::vector<StoredRoom> MucStore::load(const std::string& service) {
  std::map<std::string, StoredRoom> rooms;
  {
    StatementUse use(select_rooms_);
    select_rooms_.bind(1, service);
    while (select_rooms_.step()) {
      StoredRoom& r = rooms[select_rooms_.column_text(0)];
      r.service = service;
      r.room = select_rooms_.column_text(0);
      r.config = select_rooms_.column_text(1);
      r.subject = select_rooms_.column_text(2);
      r.subject_by = select_rooms_.column_text(3);
      r.subject_payloads = select_rooms_.column_text(4);
    }
  }
  {
    StatementUse use(select_affiliations_);
    select_affiliations_.bind(1, service);
    while (select_affiliations_.step()) {
      auto it = rooms.find(select_affiliations_.column_text(0));
      if (it == rooms.end()) continue;
      std::string jid = select_affiliations_.column_text(1);
      it->second.affiliations[jid] = select_affiliations_.column_text(2);
      if (std::string nick = select_affiliations_.column_text(3); !nick.empty()) it->second.nicks[jid] = nick;
      if (std::string reason = select_affiliations_.column_text(4); !reason.empty()) it->second.reasons[jid] = reason;
    }
  }
  std::vector<StoredRoom> out;
  for (auto& [name, room] : rooms) out.push_back(std::move(room));
  return out;
}

void MucStore::save(const StoredRoom& room) {
  Database::Transaction tx(db_);
  {
    StatementUse use(upsert_room_);
    upsert_room_.bind(1, room.service).bind(2, room.room).bind(3, room.config).bind(4, room.subject)
        .bind(5, room.subject_by).bind(6, room.subject_payloads).exec();
  }
  {
    StatementUse use(delete_affiliations_);
    delete_affiliations_.bind(1, room.service).bind(2, room.room).exec();
  }
  for (const auto& [jid, affiliation] : room.affiliations) {
    StatementUse use(insert_affiliation_);
    auto nick = room.nicks.find(jid);
    auto reason = room.reasons.find(jid);
    insert_affiliation_.bind(1, room.service).bind(2, room.room).bind(3, jid).bind(4, affiliation)
        .bind(5, nick == room.nicks.end() ? std::string() : nick->second)
        .bind(6, reason == room.reasons.end() ? std::string() : reason->second).exec();
  }
  tx.commit();
}

void MucStore::remove(const std::string& service, const std::string& room) {
  StatementUse use(delete_room_);
  delete_room_.bind(1, service).bind(2, room).exec();
}

}  // namespace muc

// One chat room (XEP-0045): its occupants with their roles, the affiliations, the
// configuration, subject and history, and everything occupants and owners may do in it.
// Runs on the service's strand only, so it holds no lock. What it says goes out through a
// RoomEnvironment, which the module implements (routing, fan-out, storage).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>
#include <xmppd/module.hpp>

#include "archive_store.hpp"
#include "history.hpp"
#include "muc_store.hpp"
#include "room_config.hpp"

namespace muc {

inline constexpr const char* kMuc = "http://jabber.org/protocol/muc";
inline constexpr const char* kMucUser = "http://jabber.org/protocol/muc#user";
inline constexpr const char* kMucAdmin = "http://jabber.org/protocol/muc#admin";
inline constexpr const char* kMucOwner = "http://jabber.org/protocol/muc#owner";
inline constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
inline constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";

// Ordered by privilege.
enum class Role { none, visitor, participant, moderator };
enum class Affiliation { outcast, none, member, admin, owner };

std::string_view name_of(Role role);
std::string_view name_of(Affiliation affiliation);
std::optional<Role> role_named(std::string_view name);
std::optional<Affiliation> affiliation_named(std::string_view name);
// Adds <status code='…'/> to a muc#user <x/>.
xmppd::Element& add_status(xmppd::Element& x, int code);

class Room;

class RoomEnvironment {
 public:
  virtual ~RoomEnvironment() = default;
  virtual void send(xmppd::Element stanza) = 0;
  // One stanza to many occupants, serialized once.
  virtual void send_to_many(const xmppd::Element& stanza, const std::vector<xmppd::Jid>& recipients) = 0;
  // The same recipients for many stanzas (ModuleContext::audience).
  virtual std::unique_ptr<xmppd::Audience> audience(std::vector<xmppd::Jid> recipients) = 0;
  // The room's durable state changed (or it was destroyed, or became temporary): write it
  // (or delete it), then send `reply`, if any, once that is on disk.
  virtual void persist(const Room& room, std::optional<xmppd::Element> reply) = 0;

  // The room's archive (XEP-0313 at its JID). Archives a groupchat message as broadcast
  // ('from' the sender's occupant JID) sent by `sender` (real bare JID); returns its id.
  virtual std::string archive(const Room& room, const xmppd::Element& message, const std::string& nick,
                              const std::string& sender) = 0;
  virtual void query_archive(const Room& room, xmppd::Element iq) = 0;
  // Replaces the archived message with room stanza-id `id` by a tombstone (`detail` goes
  // in it) if `sender` sent it (empty: whoever did), then calls `done` on the strand with
  // the room, if it still exists.
  virtual void retract(const Room& room, std::string id, std::string sender, std::optional<xmppd::Element> detail,
                       std::function<void(Room&, archive::RetractOutcome)> done) = 0;
};

struct ServiceLimits {
  std::int64_t max_occupants;       // no room holds more
  std::size_t history_max_stanzas;  // kept per room
};

class Room {
 public:
  Room(xmppd::Jid jid, RoomConfig config, ServiceLimits limits, RoomEnvironment& env);

  // A user brought the room into existence by joining it: they own it. An instant room is
  // open at once; otherwise it stays locked until the owner submits a configuration.
  void create(const xmppd::Jid& creator, bool instant);
  // State read back from storage.
  void restore(const StoredRoom& stored);
  StoredRoom snapshot() const;

  const xmppd::Jid& jid() const { return jid_; }
  const RoomConfig& config() const { return config_; }
  bool locked() const { return locked_; }
  // Destroyed, or a temporary (or never configured) room nobody is in: the service drops it.
  bool gone() const;
  // Durable state worth keeping: a configured persistent room that was not destroyed.
  bool stored() const { return config_.persistent && !locked_ && !destroyed_; }
  bool archived() const { return config_.persistent && config_.enable_logging; }
  // Join history read back from the archive after a restart, oldest first.
  void restore_history(std::vector<History::Entry> entries);
  bool occupied_by(const xmppd::Jid& real) const { return key_of_.contains(real); }
  std::size_t occupant_count() const { return occupants_.size(); }
  Affiliation affiliation_of(const xmppd::Jid& jid) const;

  // Stanzas to the room's bare JID (nick empty) or to an occupant JID.
  void on_presence(xmppd::Element presence, const xmppd::Jid& from, const xmppd::Jid& to, bool just_created);
  void on_message(xmppd::Element message, const xmppd::Jid& from, const std::string& nick);
  void on_iq(xmppd::Element iq, const xmppd::Jid& from, const std::string& nick);
  // The user's session ended without leaving: out it goes, as if it had left.
  void session_ended(const xmppd::Jid& real);
  // The service stops: each occupant learns it is out (status 332).
  void shut_down();

 private:
  // One client of an occupant: several sessions of one account may share a nick.
  struct Session {
    xmppd::Jid real;          // full JID
    xmppd::Element presence;  // its last presence, without MUC payload
  };
  struct Occupant {
    std::string nick;
    Role role = Role::none;
    std::vector<Session> sessions;  // never empty; the one that last spoke is last and speaks for all
    const xmppd::Jid& real() const { return sessions.back().real; }
    const xmppd::Element& presence() const { return sessions.back().presence; }
  };
  // What accompanies an occupant's presence when it is broadcast.
  struct Notice {
    bool unavailable = false;
    std::vector<int> codes;       // for everyone
    std::vector<int> self_codes;  // for the occupant only (110 is always added there)
    std::string new_nick;         // 303
    std::string actor;            // nick of the moderator who acted
    std::string reason;
    const xmppd::Element* destroy = nullptr;
    // The self copy with `self_codes` goes to this session only (one that just joined or
    // left an occupant); the occupant's other sessions get it without. Null: to all.
    const xmppd::Jid* session = nullptr;
  };

  xmppd::Jid occupant_jid(const std::string& nick) const;
  Occupant* find(const xmppd::Jid& real);
  Occupant* named(std::string_view nick);  // compared as RFC 8266 says (case folded)
  bool sees_real_jids(const Occupant& viewer) const;
  // Whether `nick` is registered in the room by an account other than `user`'s.
  bool registered_by_other(const std::string& nick, const xmppd::Jid& user) const;
  Role default_role(Affiliation affiliation) const;
  xmppd::Audience& everyone();

  xmppd::Element presence_of(const Occupant& o, const Notice& notice, bool with_jid, bool self) const;
  // Tells every occupant (and `o`, present or just removed) about `o`; each variant is
  // serialized once.
  void broadcast_presence(const Occupant& o, const Notice& notice);
  void broadcast_message(const xmppd::Element& message);
  xmppd::Element subject_message() const;

  // Presence.
  void join(xmppd::Element presence, const xmppd::Jid& from, const xmppd::Jid& to, bool just_created);
  void change_nick(Occupant& o, const xmppd::Element& presence, const xmppd::Jid& from, const xmppd::Jid& to);
  void speaks(Occupant& o, const xmppd::Jid& real, xmppd::Element presence);
  void leave(const xmppd::Jid& real, const std::string& status, std::vector<int> codes = {});
  // Takes one session out of an occupant that keeps others; `notice` is for that session.
  void detach(Occupant& o, const xmppd::Jid& real, Notice notice);
  void send_state_to(const Occupant& o, const xmppd::Jid& session, const xmppd::Element& join_x, bool just_created,
                     bool nick_changed);
  // Removes an occupant with a reason for the others (kick 307, ban 301, 321, 322...).
  void remove(const std::string& nick, Notice notice);

  // Messages.
  // `checked`: a retraction the archive has found to be the sender's own.
  void groupchat(xmppd::Element message, const xmppd::Jid& from, bool checked = false);
  void moderate(const xmppd::Element& iq, const xmppd::Jid& from);
  void mam_iq(xmppd::Element iq, const xmppd::Jid& from);
  void private_message(xmppd::Element message, const xmppd::Jid& from, const std::string& nick);
  void invite_or_decline(const xmppd::Element& message, const xmppd::Jid& from);

  // IQs.
  void occupant_iq(xmppd::Element iq, const xmppd::Jid& from, const std::string& nick);
  void disco_info(const xmppd::Element& iq);
  void admin_get(const xmppd::Element& iq, const xmppd::Jid& from);
  void admin_set(const xmppd::Element& iq, const xmppd::Jid& from);
  void owner_get(const xmppd::Element& iq, const xmppd::Jid& from);
  void owner_set(const xmppd::Element& iq, const xmppd::Jid& from);
  void apply_config(RoomConfig config, const xmppd::Element& iq);
  void destroy(const xmppd::Element* destroy_request, std::optional<xmppd::Element> reply);
  void set_affiliation(const std::string& bare, Affiliation affiliation, const std::string& actor,
                       const std::string& reason);
  void announce_affiliation(const std::string& bare, Affiliation affiliation, const std::string& reason);
  void registration(const xmppd::Element& iq, const xmppd::Jid& from);
  void set_role(Occupant& o, Role role, const std::string& actor, const std::string& reason);

  xmppd::Jid jid_;
  RoomConfig config_;
  ServiceLimits limits_;
  RoomEnvironment& env_;
  bool locked_ = false;
  bool destroyed_ = false;
  std::map<std::string, Occupant, std::less<>> occupants_;     // by nickname_key(nick)
  std::unordered_map<xmppd::Jid, std::string> key_of_;         // a session's full JID → its occupant's key
  std::map<std::string, Affiliation> affiliations_;            // bare JID → not none
  std::map<std::string, std::string> registered_nicks_;        // bare JID (member or above) → nick
  std::map<std::string, std::string> affiliation_reasons_;     // bare JID → the reason given with it
  std::unique_ptr<xmppd::Audience> everyone_;                  // fan-out list; reset on change
  std::string subject_;
  std::string subject_by_;  // nick, empty for the room
  // What else the subject's message carried (extensions), replayed with it.
  std::vector<xmppd::Element> subject_payloads_;
  History history_;
};

}  // namespace muc

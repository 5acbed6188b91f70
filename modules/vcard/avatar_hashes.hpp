// XEP-0153: the SHA-1 of each user's vCard photo, which the server adds to the user's
// broadcast presence so contacts learn of avatar changes.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <xmppd/element.hpp>

namespace vcard {

// A vCard's PHOTO as the image it holds (XEP-0153 and XEP-0084 both name it by hash).
struct Photo {
  std::string type;    // media type, as TYPE says (may be empty)
  std::string base64;  // BINVAL without whitespace
  std::string hash;    // lowercase hex SHA-1 of the decoded bytes
  std::size_t bytes = 0;
};
// nullopt when the vCard has no photo, or its BINVAL is not base64.
std::optional<Photo> photo_of(const xmppd::Element& vcard);
// Lowercase hex SHA-1 of the decoded PHOTO/BINVAL; "" when the vCard has no photo.
std::string photo_hash(const xmppd::Element& vcard);

class AvatarHashes {
 public:
  void set(const std::string& bare_jid, std::string hash);
  // nullopt while the user's vCard has not been read yet.
  std::optional<std::string> get(const std::string& bare_jid) const;

 private:
  mutable std::mutex mutex_;  // presence broadcasts of every thread read this
  std::unordered_map<std::string, std::string> hashes_;
};

}  // namespace vcard

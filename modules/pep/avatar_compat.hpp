// XEP-0398: one avatar whichever way a client sets it, as a vCard PHOTO (XEP-0153) or in
// PEP (XEP-0084). These convert between the two forms.
#pragma once

#include <optional>
#include <string>

#include <xmppd/element.hpp>

#include "pubsub_store.hpp"

namespace pep {

inline constexpr const char* kAvatarData = "urn:xmpp:avatar:data";
inline constexpr const char* kAvatarMetadata = "urn:xmpp:avatar:metadata";

// Avatars are public, as vCards are (XEP-0054: anyone may read one).
NodeConfig avatar_node_config();

// The PEP items for a vCard's photo: data and metadata, both with the photo's SHA-1 as id;
// without a photo, an empty metadata item (XEP-0084 §4.5: the avatar is disabled) and no data.
struct AvatarItems {
  std::optional<Item> data;
  Item metadata;
};
AvatarItems avatar_items_of_vcard(const xmppd::Element& vcard);

// Whether a metadata item says the user has no avatar (XEP-0084 §4.5).
bool avatar_disabled(const Item& metadata);
// The image a metadata item names, if `data` (the data node's item of that id) holds it;
// nullopt otherwise (an avatar published elsewhere, by URL, has no vCard form).
struct Image {
  std::string type, base64, hash;
};
std::optional<Image> image_of(const Item& metadata, const std::optional<Item>& data);

// `vcard` with its PHOTO replaced by `image` (removed for nullopt).
xmppd::Element vcard_with_photo(xmppd::Element vcard, const std::optional<Image>& image);

}  // namespace pep

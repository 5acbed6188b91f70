#include "avatar_compat.hpp"

#include "avatar_hashes.hpp"

namespace pep {

using xmppd::Element;

namespace {
constexpr const char* kVcard = "vcard-temp";
}

NodeConfig avatar_node_config() {
  NodeConfig config;
  config.access = Access::open;
  return config;
}

AvatarItems avatar_items_of_vcard(const Element& vcard) {
  AvatarItems items;
  Element metadata("metadata", kAvatarMetadata);
  auto photo = vcard::photo_of(vcard);
  if (!photo) {
    items.metadata = {"none", "", metadata.str()};
    return items;
  }
  Element data("data", kAvatarData);
  data.add_text(photo->base64);
  items.data = Item{photo->hash, "", data.str()};
  Element& info = metadata.add_child("info", kAvatarMetadata);
  info.set_attr("bytes", std::to_string(photo->bytes));
  info.set_attr("id", photo->hash);
  info.set_attr("type", photo->type.empty() ? "image/png" : photo->type);
  items.metadata = {photo->hash, "", metadata.str()};
  return items;
}

bool avatar_disabled(const Item& metadata) {
  auto meta = Element::parse(metadata.payload, "");
  return meta && meta->is("metadata", kAvatarMetadata) && !meta->child("info", kAvatarMetadata);
}

std::optional<Image> image_of(const Item& metadata, const std::optional<Item>& data) {
  auto meta = Element::parse(metadata.payload, "");
  const Element* info = meta ? meta->child("info", kAvatarMetadata) : nullptr;
  if (!info || !data || data->id != info->attr_or("id")) return std::nullopt;
  auto payload = Element::parse(data->payload, "");
  if (!payload || !payload->is("data", kAvatarData)) return std::nullopt;
  return Image{std::string(info->attr_or("type")), payload->text(), data->id};
}

Element vcard_with_photo(Element vcard, const std::optional<Image>& image) {
  vcard.remove_children("PHOTO", kVcard);
  if (!image) return vcard;
  Element& photo = vcard.add_child("PHOTO", kVcard);
  photo.add_child("TYPE", kVcard).add_text(image->type);
  photo.add_child("BINVAL", kVcard).add_text(image->base64);
  return vcard;
}

}  // namespace pep

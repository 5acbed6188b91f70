// A JID (RFC 7622) as a value: parsed and normalized once, at the edge.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace xmppd {

class Jid {
 public:
  Jid() = default;

  // Parses "node@domain/resource" and normalizes each part (nodeprep, nameprep,
  // resourceprep). nullopt for anything malformed: empty domain, illegal characters,
  // a part longer than 1023 bytes.
  static std::optional<Jid> parse(std::string_view text);
  // Builds from separate parts, normalizing each; an empty node/resource means absent.
  static std::optional<Jid> make(std::string_view node, std::string_view domain,
                                 std::string_view resource = {});
  // Normalizes one part; nullopt if it is not allowed.
  static std::optional<std::string> nodeprep(std::string_view node);
  static std::optional<std::string> nameprep(std::string_view domain);
  static std::optional<std::string> resourceprep(std::string_view resource);

  const std::string& node() const { return node_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }
  bool empty() const { return domain_.empty(); }
  bool is_bare() const { return resource_.empty(); }
  Jid bare() const;
  Jid with_resource(std::string resource) const;  // resource must already be prepared

  std::string str() const;       // full form
  std::string bare_str() const;  // node@domain or domain

  friend bool operator==(const Jid&, const Jid&) = default;

 private:
  std::string node_;
  std::string domain_;
  std::string resource_;
};

}  // namespace xmppd

template <>
struct std::hash<xmppd::Jid> {
  std::size_t operator()(const xmppd::Jid& j) const noexcept {
    std::size_t h = std::hash<std::string>{}(j.node());
    h = h * 31 + std::hash<std::string>{}(j.domain());
    return h * 31 + std::hash<std::string>{}(j.resource());
  }
};

#include <xmppd/jid.hpp>

#include <arpa/inet.h>
#include <stringprep.h>

#include <algorithm>
#include <cstdlib>

namespace xmppd {
namespace {

constexpr std::size_t kMaxPart = 1023;

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; }

// ASCII only, unlike std::isalnum: no locale lookup per character.
bool is_alnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// libidn's full stringprep; slow, so only for non-ASCII input.
std::optional<std::string> run_profile(std::string_view in, const char* profile) {
  std::string copy(in);  // stringprep_profile wants a NUL-terminated string
  if (copy.find('\0') != std::string::npos) return std::nullopt;
  char* out = nullptr;
  if (stringprep_profile(copy.c_str(), &out, profile, Stringprep_profile_flags(0)) != STRINGPREP_OK) {
    std::free(out);
    return std::nullopt;
  }
  std::string result(out);
  std::free(out);
  return result;
}

// Host names (letters, digits, hyphens, dots; underscores too, which DNS tolerates) or an
// IPv6 literal in brackets.
bool valid_domain(std::string_view d) {
  if (d.empty() || d.size() > kMaxPart) return false;
  if (d.front() == '[') {  // RFC 3986 IP-literal: an IPv6 address in brackets
    if (d.back() != ']') return false;
    std::string address(d.substr(1, d.size() - 2));
    in6_addr parsed;
    return inet_pton(AF_INET6, address.c_str(), &parsed) == 1;
  }
  std::size_t label = 0;
  for (std::size_t i = 0; i < d.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(d[i]);
    if (c == '.') {
      if (label == 0 || d[i - 1] == '-') return false;
      label = 0;
      continue;
    }
    if (c >= 0x80) {  // internationalized label, already nameprepped
      ++label;
      continue;
    }
    bool ok = is_alnum(c) || (c == '-' && label > 0) || c == '_';
    if (!ok || ++label > 63) return false;
  }
  return label > 0 && d.back() != '-';
}

}  // namespace

std::optional<std::string> Jid::nodeprep(std::string_view node) {
  if (node.empty() || node.size() > kMaxPart) return std::nullopt;
  if (!is_ascii(node)) {
    auto r = run_profile(node, "Nodeprep");
    if (!r || r->empty() || r->size() > kMaxPart) return std::nullopt;
    return r;
  }
  std::string out(node);  // copied once, then checked and lowered in place
  for (char& c : out) {
    if (is_control(c) || c == ' ') return std::nullopt;
    switch (c) {
      case '"': case '&': case '\'': case '/': case ':': case '<': case '>': case '@':
        return std::nullopt;
      default:
        c = lower(c);
    }
  }
  return out;
}

std::optional<std::string> Jid::nameprep(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);  // RFC 7622 §3.2
  if (domain.empty() || domain.size() > kMaxPart) return std::nullopt;
  std::string out;
  if (is_ascii(domain)) {
    out.assign(domain);
    for (char& c : out) c = lower(c);
  } else {
    auto r = run_profile(domain, "Nameprep");
    if (!r) return std::nullopt;
    out = std::move(*r);
  }
  if (!valid_domain(out)) return std::nullopt;
  return out;
}

std::optional<std::string> Jid::resourceprep(std::string_view resource) {
  if (resource.empty() || resource.size() > kMaxPart) return std::nullopt;
  if (!is_ascii(resource)) {
    auto r = run_profile(resource, "Resourceprep");
    if (!r || r->empty() || r->size() > kMaxPart) return std::nullopt;
    return r;
  }
  if (std::any_of(resource.begin(), resource.end(), is_control)) return std::nullopt;
  return std::string(resource);
}

std::optional<Jid> Jid::make(std::string_view node, std::string_view domain,
                             std::string_view resource) {
  Jid j;
  auto d = nameprep(domain);
  if (!d) return std::nullopt;
  j.domain_ = std::move(*d);
  if (!node.empty()) {
    auto n = nodeprep(node);
    if (!n) return std::nullopt;
    j.node_ = std::move(*n);
  }
  if (!resource.empty()) {
    auto r = resourceprep(resource);
    if (!r) return std::nullopt;
    j.resource_ = std::move(*r);
  }
  return j;
}

std::optional<Jid> Jid::parse(std::string_view text) {
  // The resource starts at the first '/', the node ends at the first '@' before it.
  std::string_view rest = text, resource;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (resource.empty()) return std::nullopt;
  }
  std::string_view node;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    node = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (node.empty()) return std::nullopt;
  }
  return make(node, rest, resource);
}

Jid Jid::bare() const {
  Jid j = *this;
  j.resource_.clear();
  return j;
}

Jid Jid::with_resource(std::string resource) const {
  Jid j = *this;
  j.resource_ = std::move(resource);
  return j;
}

std::string Jid::bare_str() const {
  if (node_.empty()) return domain_;
  std::string s;
  s.reserve(node_.size() + 1 + domain_.size());
  s.append(node_).append(1, '@').append(domain_);
  return s;
}

std::string Jid::str() const {
  if (resource_.empty()) return bare_str();
  std::string s;
  s.reserve(node_.size() + 1 + domain_.size() + 1 + resource_.size());  // one allocation
  if (!node_.empty()) s.append(node_).append(1, '@');
  s.append(domain_).append(1, '/').append(resource_);
  return s;
}

}  // namespace xmppd

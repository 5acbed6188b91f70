#include <xmppd/caps.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

namespace xmppd::caps {
namespace {

constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kData = "jabber:x:data";

std::string base64_sha1(const std::string& text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha1(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, digest, int(len));
  return std::string(reinterpret_cast<char*>(out), std::size_t(n));
}

std::vector<std::string> values(const Element& field) {
  std::vector<std::string> out;
  for (const Element& v : field.nodes())
    if (v.is("value", kData)) out.push_back(v.text());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string ver(const Element& query) {
  std::vector<std::string> identities, features;
  std::vector<std::pair<std::string, std::string>> forms;  // FORM_TYPE → its part of S
  for (const Element& n : query.nodes()) {
    if (n.is("identity", kInfo)) {
      identities.push_back(std::string(n.attr_or("category")) + "/" + std::string(n.attr_or("type")) + "/" +
                           std::string(n.attr_or("xml:lang")) + "/" + std::string(n.attr_or("name")));
    } else if (n.is("feature", kInfo)) {
      features.push_back(std::string(n.attr_or("var")));
    } else if (n.is("x", kData)) {
      std::string type;
      std::vector<std::pair<std::string, std::vector<std::string>>> fields;
      for (const Element& f : n.nodes()) {
        if (!f.is("field", kData)) continue;
        if (f.attr_or("var") == "FORM_TYPE") type = f.child_text("value", kData);
        else fields.emplace_back(std::string(f.attr_or("var")), values(f));
      }
      if (type.empty()) continue;  // §5.4: forms without FORM_TYPE are ignored
      std::sort(fields.begin(), fields.end());
      std::string part = type + "<";
      for (const auto& [var, vals] : fields) {
        part += var + "<";
        for (const auto& v : vals) part += v + "<";
      }
      forms.emplace_back(std::move(type), std::move(part));
    }
  }
  std::sort(identities.begin(), identities.end());
  std::sort(features.begin(), features.end());
  std::sort(forms.begin(), forms.end());
  std::string s;
  for (const auto& i : identities) s += i + "<";
  for (const auto& f : features) s += f + "<";
  for (const auto& [type, part] : forms) s += part;
  return base64_sha1(s);
}

}  // namespace xmppd::caps

// XEP-0363 HTTP File Upload: the upload.<host> component hands out slots (a PUT URL signed
// for one file, and the GET URL it will be served from), checked against the size limit and
// the user's quota; the module's own HTTPS listener receives and serves the files.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "file_store.hpp"
#include "upload_http.hpp"
#include "upload_token.hpp"
#include "upload_url.hpp"

namespace {

using xmppd::Element;
using xmppd::Jid;
namespace fs = std::filesystem;
using namespace http_upload;

constexpr const char* kUpload = "urn:xmpp:http:upload:0";
constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";
constexpr const char* kData = "jabber:x:data";

constexpr std::int64_t kMiB = 1024 * 1024;

// A MIME type as a header can carry it: printable ASCII, nothing that ends a line.
bool valid_content_type(std::string_view type) {
  if (type.empty() || type.size() > 255) return false;
  for (unsigned char c : type)
    if (c < 0x20 || c > 0x7e) return false;
  return true;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class HttpUploadModule final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const auto& config = ctx.config();
    std::string domain = config.string("domain", "upload." + ctx.host());
    // The files are served by the server's HTTP layer now, not a listener of this module.
    for (const char* moved : {"address", "port", "max_connections"})
      if (config.has(moved)) config.reject(moved, "files are served on the [[http.listen]] listeners now; remove this key");
    std::string url = config.string("url", "");
    max_file_size_ = config.integer("max_file_size", 100 * kMiB, 1, INT64_MAX);
    auto quota = config.integer("quota_per_user", 1024 * kMiB, 0, INT64_MAX);
    auto expire_after = config.integer("expire_after", 7 * 24 * 3600, 0, INT64_MAX / 2);
    slot_lifetime_ = config.integer("slot_lifetime", 300, 1, 24 * 3600);
    std::string secret = config.string("secret", "");
    allowed_types_ = config.strings("allowed_content_types", {});
    for (const std::string& t : allowed_types_)
      if (!valid_content_type(t) || t.find('/') == std::string::npos)
        config.reject("allowed_content_types", "not a MIME type: " + t);
    put_authorization_ = config.string("put_authorization", "");
    if (!put_authorization_.empty() && !valid_content_type(put_authorization_))  // printable ASCII, one line
      config.reject("put_authorization", "not a valid header value");
    if (!secret.empty() && secret.size() < 16)
      config.reject("secret", "use at least 16 characters (or leave it out)");
    while (!url.empty() && url.back() == '/') url.pop_back();

    fs::path uploads = fs::path(ctx.data_dir()) / "uploads";
    if (secret.empty()) secret = load_or_create_secret(uploads / (ctx.host() + ".secret"));
    store_ = std::make_unique<FileStore>(uploads / ctx.host(), static_cast<std::uint64_t>(quota));
    signer_ = std::make_unique<UploadSigner>(secret);
    // Each host's files under a path of its own: the HTTP listeners are shared.
    std::string path = url.empty() ? "/upload/" + ctx.host() : url_path(url);
    base_url_ = url.empty() ? ctx.http_url() + path : url;
    http_ = std::make_unique<UploadHttp>(*store_, *signer_, path);
    ctx.add_http_route(path + '/', [this](xmppd::HttpExchange& exchange) { return http_->serve(exchange); });
    xmppd::log::info("http_upload: files of ", ctx.host(), " at ", base_url_);
    if (expire_after > 0) {
      // Sweep often enough that a file outlives its time by at most half of it (and an hour).
      auto period = std::chrono::seconds(std::clamp<std::int64_t>(expire_after / 2, 1, 3600));
      http_->every(period, [store = store_.get(), expire_after] {
        for (const auto& id : store->remove_stored_before(unix_now() - expire_after))
          xmppd::log::info("http_upload: removed expired file ", id);
      });
    }
    http_->start();

    ctx.add_component(domain, [this](Element stanza, const Jid& from, const Jid&) { on_stanza(stanza, from); });
  }

  void stop() override {
    if (http_) http_->stop();
  }

 private:
  void on_stanza(const Element& stanza, const Jid& from) {
    std::string_view type = stanza.attr_or("type");
    if (stanza.name() != "iq") {
      if (stanza.name() == "message" && xmppd::stanza::may_reply_with_error(stanza))
        ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
      return;
    }
    if (type != "get" && type != "set") return;  // results and errors end here
    const Element* payload = stanza.first_child();
    if (type == "get" && payload && payload->is("query", kDiscoInfo) && !payload->attr("node")) {
      ctx_->send(disco_info(stanza));
    } else if (type == "get" && payload && payload->is("query", kDiscoItems)) {
      Element reply = xmppd::stanza::iq_result(stanza);
      reply.add_child("query", kDiscoItems);
      ctx_->send(std::move(reply));
    } else if (type == "get" && payload && payload->is("request", kUpload)) {
      request_slot(stanza, *payload, from);
    } else {
      ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
    }
  }

  // XEP-0363 §3: the store/file identity, the feature, and the size limit as a XEP-0128 form.
  Element disco_info(const Element& iq) const {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kDiscoInfo);
    query.add_child("identity", kDiscoInfo)
        .set_attr("category", "store")
        .set_attr("type", "file")
        .set_attr("name", "HTTP File Upload");
    query.add_child("feature", kDiscoInfo).set_attr("var", kDiscoInfo);
    query.add_child("feature", kDiscoInfo).set_attr("var", kUpload);
    Element& form = query.add_child("x", kData);
    form.set_attr("type", "result");
    Element& form_type = form.add_child("field", kData);
    form_type.set_attr("var", "FORM_TYPE").set_attr("type", "hidden");
    form_type.add_child("value", kData).add_text(kUpload);
    form.add_child("field", kData).set_attr("var", "max-file-size").add_child("value", kData).add_text(
        std::to_string(max_file_size_));
    return reply;
  }

  // XEP-0363 §4–5.
  void request_slot(const Element& iq, const Element& request, const Jid& from) {
    if (from.node().empty() || from.domain() != ctx_->host()) {
      ctx_->send(xmppd::stanza::error(iq, "not-allowed", "Only accounts of " + ctx_->host() + " may upload here"));
      return;
    }
    std::string filename(request.attr_or("filename"));
    std::string_view size_text = request.attr_or("size");
    std::string content_type(request.attr_or("content-type", "application/octet-stream"));
    std::int64_t size = -1;
    auto [end, ec] = std::from_chars(size_text.data(), size_text.data() + size_text.size(), size);
    if (!valid_filename(filename) || ec != std::errc() || end != size_text.data() + size_text.size() || size < 0 ||
        !valid_content_type(content_type)) {
      ctx_->send(xmppd::stanza::error(iq, "bad-request", "A slot needs a file name, a size and a valid content type"));
      return;
    }
    if (size > max_file_size_) {
      Element reply = xmppd::stanza::error(iq, "not-acceptable",
                                           "File too large: the limit is " + std::to_string(max_file_size_) + " bytes");
      Element& too_large = reply.child("error", reply.ns())->add_child("file-too-large", kUpload);
      too_large.add_child("max-file-size", kUpload).add_text(std::to_string(max_file_size_));
      ctx_->send(std::move(reply));
      return;
    }
    if (!allowed(content_type)) {
      ctx_->send(xmppd::stanza::error(iq, "not-acceptable", "Files of type " + content_type + " are not accepted here"));
      return;
    }
    std::string owner = from.bare_str();
    if (!store_->within_quota(owner, static_cast<std::uint64_t>(size))) {
      ctx_->send(xmppd::stanza::error(iq, "resource-constraint", "Upload quota exceeded"));
      return;
    }
    UploadGrant grant{random_hex(16), filename, static_cast<std::uint64_t>(size), content_type, owner,
                      unix_now() + slot_lifetime_};
    std::string get_url = base_url_ + '/' + grant.id + '/' + percent_encode(filename);
    std::string put_url = get_url + "?size=" + std::to_string(grant.size) + "&type=" + percent_encode(content_type) +
                          "&owner=" + percent_encode(owner) + "&expires=" + std::to_string(grant.expires) +
                          "&token=" + signer_->sign(grant);
    Element reply = xmppd::stanza::iq_result(iq);
    Element& slot = reply.add_child("slot", kUpload);
    Element& put = slot.add_child("put", kUpload);
    put.set_attr("url", put_url);
    // For an upload through a proxy that wants to see it (XEP-0363 §5 allows this header).
    if (!put_authorization_.empty()) {
      Element& header = put.add_child("header", kUpload);
      header.set_attr("name", "Authorization");
      header.add_text(put_authorization_);
    }
    slot.add_child("get", kUpload).set_attr("url", get_url);
    xmppd::log::info("http_upload: slot ", grant.id, " for ", from.str(), ": ", size, " bytes");
    ctx_->send(std::move(reply));
  }

  // The allow list: exact types, or "type/*"; empty allows every type.
  bool allowed(std::string_view type) const {
    if (allowed_types_.empty()) return true;
    std::string_view base = type.substr(0, type.find(';'));  // parameters do not matter
    while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
    for (const std::string& a : allowed_types_) {
      if (a == base) return true;
      if (a.size() > 2 && a.ends_with("/*") && base.substr(0, a.size() - 1) == std::string_view(a).substr(0, a.size() - 1))
        return true;
    }
    return false;
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::vector<std::string> allowed_types_;
  std::string put_authorization_;
  std::int64_t max_file_size_ = 0;
  std::int64_t slot_lifetime_ = 0;
  std::string base_url_;
  // Declared before the HTTP side, which uses them until it is destroyed.
  std::unique_ptr<FileStore> store_;
  std::unique_ptr<UploadSigner> signer_;
  std::unique_ptr<UploadHttp> http_;
};

}  // namespace

XMPPD_MODULE("http_upload", HttpUploadModule);

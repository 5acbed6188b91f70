#include "net/http/web_client.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace xmppd::net::http {
namespace {

constexpr std::string_view kAssets = "/converse/";

std::string_view content_type(const fs::path& path) {
  static const std::map<std::string, std::string_view, std::less<>> types = {
      {".js", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},             {".wasm", "application/wasm"},
      {".html", "text/html; charset=utf-8"},     {".svg", "image/svg+xml"},
      {".png", "image/png"},                     {".ico", "image/x-icon"},
      {".gif", "image/gif"},                     {".jpg", "image/jpeg"},
      {".ttf", "font/ttf"},                      {".woff", "font/woff"},
      {".woff2", "font/woff2"},                  {".mp3", "audio/mpeg"},
      {".ogg", "audio/ogg"}};
  auto it = types.find(path.extension().string());
  return it == types.end() ? "application/octet-stream" : it->second;
}

std::string etag_of(std::string_view body) {
  std::ostringstream tag;
  tag << '"' << std::hex << std::hash<std::string_view>{}(body) << '-' << body.size() << '"';
  return tag.str();
}

// A JavaScript string literal that is safe inside a <script> element.
std::string js_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) continue;
        out += c;
    }
  }
  return out + '"';
}

std::string html_text(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return content.str();
}

// Minified builds are served; their readable twins and the source maps are left on disk.
bool served(const fs::path& path) {
  std::string name = path.filename().string();
  if (name.ends_with(".map")) return false;
  for (std::string_view ext : {".js", ".css"}) {
    if (!name.ends_with(ext) || name.ends_with(std::string(".min") + std::string(ext))) continue;
    fs::path minified = path;
    minified.replace_extension(std::string(".min") + std::string(ext));
    if (fs::exists(minified)) return false;
  }
  return true;
}

std::string page(const config::Config& config) {
  const config::Http& http = config.http;
  const config::VirtualHost& host = config.hosts.front();
  const bool registration = std::find(host.modules.begin(), host.modules.end(), "register") != host.modules.end();
  std::string rooms = http.web_client_room.empty() ? "[]" : "[" + js_string(http.web_client_room) + "]";
  return "<!DOCTYPE html>\n<html lang='en'>\n<head>\n<meta charset='utf-8'>\n"
         "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
         "<title>" + html_text(http.web_client_title) + "</title>\n"
         "<link rel='icon' href='/converse/images/favicon.ico'>\n"
         "<link rel='stylesheet' href='/converse/converse.min.css'>\n"
         "</head>\n<body class='converse-fullscreen'>\n<script type='module'>\n"
         "import converse from '/converse/converse.min.js';\n"
         "converse.initialize({\n"
         "  websocket_url: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/xmpp-websocket',\n"
         "  discover_connection_methods: false,\n"
         "  xmpp_providers_url: '',\n"
         "  assets_path: '/converse/',\n"
         "  view_mode: 'fullscreen',\n"
         "  default_domain: " + js_string(host.domain) + ",\n"
         "  domain_placeholder: " + js_string(host.domain) + ",\n"
         "  registration_domain: " + js_string(host.domain) + ",\n"
         "  allow_registration: " + (registration ? "true" : "false") + ",\n"
         "  muc_domain: " + js_string("conference." + host.domain) + ",\n"
         "  auto_join_rooms: " + rooms + ",\n"
         "  muc_nickname_from_jid: true,\n"
         "  show_client_info: false,\n"
         "});\n"
         "</script>\n</body>\n</html>\n";
}

}  // namespace

WebClient::WebClient(const std::string& root, const config::Config& config) {
  if (root.empty() || !fs::is_regular_file(fs::path(root) / "converse.min.js"))
    throw std::runtime_error("no Converse.js in \"" + root + "\"");
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file() || !served(entry.path())) continue;
    File file{std::string(content_type(entry.path())), read_file(entry.path()), {}, "public, max-age=3600"};
    file.etag = etag_of(file.body);
    assets_.emplace(fs::relative(entry.path(), root).generic_string(), std::move(file));
  }
  page_ = File{"text/html; charset=utf-8", page(config), {}, "no-cache"};
  page_.etag = etag_of(page_.body);
}

Handler WebClient::handler() {
  return [this](Exchange& exchange) { return serve(exchange); };
}

const WebClient::File* WebClient::find(std::string_view path) const {
  if (path == "/" || path == "/index.html") return &page_;
  // Assets live below /converse/; the OMEMO library fetches its WebAssembly next to the page.
  std::string_view name = path.starts_with(kAssets) ? path.substr(kAssets.size())
                          : path.find('/', 1) == std::string_view::npos ? path.substr(1)
                                                                         : std::string_view();
  auto it = assets_.find(name);
  return name.empty() || it == assets_.end() ? nullptr : &it->second;
}

asio::awaitable<void> WebClient::serve(Exchange& exchange) const {
  const Request& request = exchange.request();
  auto method = request.message.method();
  if (method != boost::beast::http::verb::get && method != boost::beast::http::verb::head) {
    Response refused = Response::text(405, "Method not allowed");
    refused.headers.emplace_back("Allow", "GET, HEAD");
    co_return co_await exchange.answer(refused);
  }
  const File* file = find(request.path());
  if (!file) {
    Response missing = Response::text(404, "Not found");
    co_return co_await exchange.answer(missing);
  }
  HttpHeaders headers = {{"ETag", file->etag}, {"Cache-Control", std::string(file->cache)},
                         {"X-Content-Type-Options", "nosniff"}};
  if (request.header(boost::beast::http::field::if_none_match) == file->etag)
    co_return co_await exchange.respond(304, headers, {});
  headers.emplace_back("Content-Type", file->content_type);
  co_await exchange.respond(200, headers, file->body);
}

std::string default_web_client_root() {
#ifdef XMPPD_WEB_CLIENT_ROOT
  return XMPPD_WEB_CLIENT_ROOT;
#else
  return {};
#endif
}

}  // namespace xmppd::net::http

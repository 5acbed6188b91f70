// XEP-0065 SOCKS5 Bytestreams proxy: the proxy.<host> component tells clients where its
// SOCKS5 listener is (streamhost query) and, when the requester asks (activate), starts
// relaying between the two connections that the target and the requester opened.
#include <openssl/sha.h>

#include <memory>
#include <string>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "socks5_server.hpp"

namespace {

using xmppd::Element;
using xmppd::Jid;
using proxy65::Socks5Server;

constexpr const char* kBytestreams = "http://jabber.org/protocol/bytestreams";
constexpr const char* kDiscoInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kDiscoItems = "http://jabber.org/protocol/disco#items";

// XEP-0065 §5.3.2: the DST.ADDR both parties use, SHA1(SID + requester + target) in hex.
std::string stream_hash(const std::string& sid, const std::string& requester, const std::string& target) {
  std::string input = sid + requester + target;
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

class Proxy65Module final : public xmppd::Module {
 public:
  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const auto& config = ctx.config();
    std::string domain = config.string("domain", "proxy." + ctx.host());
    std::string address = config.string("address", "0.0.0.0");
    auto port = static_cast<unsigned short>(config.integer("port", 7777, 0, 65535));
    // What clients are told to connect to: a wildcard address is no use to them.
    bool wildcard = address == "0.0.0.0" || address == "::";
    public_host_ = config.string("host", wildcard ? ctx.host() : address);
    proxy65::ProxyLimits limits;
    limits.bytes_per_second =
        static_cast<std::uint64_t>(config.integer("max_bytes_per_second", 10 * 1024 * 1024, 0, INT64_MAX));
    limits.max_connections = static_cast<std::size_t>(config.integer("max_connections", 1000, 2, 1'000'000));
    limits.max_streams_per_user = static_cast<std::size_t>(config.integer("max_streams_per_user", 10, 1, 100'000));
    limits.pair_timeout = std::chrono::seconds(config.integer("pair_timeout", 60, 1, 3600));
    limits.idle_timeout = std::chrono::seconds(config.integer("idle_timeout", 300, 1, 86400));

    server_ = std::make_unique<Socks5Server>(limits);
    auto where = server_->listen(address, port);
    public_port_ = where.port();
    xmppd::log::info("proxy65 listening on ", where.address().to_string(), ':', where.port(), " (announced as ",
                     public_host_, ':', public_port_, ")");
    server_->start();
    ctx.add_component(domain, [this](Element stanza, const Jid& from, const Jid&) { on_stanza(stanza, from); });
  }

  void stop() override {
    if (server_) server_->stop();
  }

 private:
  void on_stanza(const Element& stanza, const Jid& from) {
    std::string_view type = stanza.attr_or("type");
    if (stanza.name() != "iq") {
      if (stanza.name() == "message" && xmppd::stanza::may_reply_with_error(stanza))
        ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
      return;
    }
    if (type != "get" && type != "set") return;
    const Element* payload = stanza.first_child();
    if (!payload) {
      ctx_->send(xmppd::stanza::error(stanza, "bad-request"));
    } else if (type == "get" && payload->is("query", kDiscoInfo) && !payload->attr("node")) {
      ctx_->send(disco_info(stanza));
    } else if (type == "get" && payload->is("query", kDiscoItems)) {
      Element reply = xmppd::stanza::iq_result(stanza);
      reply.add_child("query", kDiscoItems);
      ctx_->send(std::move(reply));
    } else if (payload->is("query", kBytestreams) && !local(from)) {
      // XEP-0065 §6.3.1: a proxy refuses those it does not serve.
      ctx_->send(xmppd::stanza::error(stanza, "forbidden", "This proxy serves accounts of " + ctx_->host()));
    } else if (type == "get" && payload->is("query", kBytestreams)) {
      ctx_->send(streamhost(stanza));
    } else if (type == "set" && payload->is("query", kBytestreams)) {
      activate(stanza, *payload, from);
    } else {
      ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
    }
  }

  bool local(const Jid& from) const { return !from.node().empty() && from.domain() == ctx_->host(); }

  Element disco_info(const Element& iq) const {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kDiscoInfo);
    query.add_child("identity", kDiscoInfo)
        .set_attr("category", "proxy")
        .set_attr("type", "bytestreams")
        .set_attr("name", "SOCKS5 Bytestreams");
    query.add_child("feature", kDiscoInfo).set_attr("var", kDiscoInfo);
    query.add_child("feature", kDiscoInfo).set_attr("var", kBytestreams);
    return reply;
  }

  // XEP-0065 §6.3.2: where to connect.
  Element streamhost(const Element& iq) const {
    Element reply = xmppd::stanza::iq_result(iq);
    reply.add_child("query", kBytestreams)
        .add_child("streamhost", kBytestreams)
        .set_attr("jid", std::string(iq.attr_or("to")))
        .set_attr("host", public_host_)
        .set_attr("port", std::to_string(public_port_));
    return reply;
  }

  // XEP-0065 §6.3.5: the requester activates the stream it opened to `target`. The hash
  // includes the sender's full JID, so only the requester can name an existing pair.
  void activate(const Element& iq, const Element& query, const Jid& from) {
    std::string sid(query.attr_or("sid"));
    auto target = Jid::parse(query.child_text("activate", kBytestreams));
    if (sid.empty() || !target) {
      ctx_->send(xmppd::stanza::error(iq, "bad-request", "An activation needs a sid and the target's JID"));
      return;
    }
    std::string hash = stream_hash(sid, from.str(), target->str());
    auto answer = [ctx = ctx_, iq](Socks5Server::Activation outcome) {
      switch (outcome) {
        case Socks5Server::Activation::activated:
          return ctx->send(xmppd::stanza::iq_result(iq));
        case Socks5Server::Activation::no_pair:
          return ctx->send(xmppd::stanza::error(iq, "item-not-found", "Both parties must connect first"));
        case Socks5Server::Activation::too_many_streams:
          return ctx->send(xmppd::stanza::error(iq, "resource-constraint", "Too many streams at once"));
      }
    };
    server_->activate(std::move(hash), from.bare_str(), std::move(answer));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  std::string public_host_;
  unsigned short public_port_ = 0;
  std::unique_ptr<Socks5Server> server_;
};

}  // namespace

XMPPD_MODULE("proxy65", Proxy65Module);

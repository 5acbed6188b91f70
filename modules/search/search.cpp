// XEP-0055 Jabber Search: a user directory at search.<host>, searched by name, nickname or
// e-mail address from the accounts' vCards. Only accounts that chose to be listed are found
// (registering with the directory, jabber:iq:register, lists one; <remove/> unlists it),
// unless the host lists everyone by default (a closed organisation). A search needs a
// field to match, returns a bounded number of results, and each user may search only so
// often: the directory cannot be used to list everyone.


#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <xmppd/module.hpp>
#include <xmppd/stanza.hpp>

#include "common/log.hpp"
#include "directory_store.hpp"
#include "storage/storage_thread.hpp"

namespace {

namespace asio = boost::asio;
using xmppd::Element;
using xmppd::Jid;

constexpr const char* kSearch = "jabber:iq:search";
constexpr const char* kRegister = "jabber:iq:register";
constexpr const char* kDataForms = "jabber:x:data";
constexpr const char* kInfo = "http://jabber.org/protocol/disco#info";
constexpr const char* kItems = "http://jabber.org/protocol/disco#items";
constexpr const char* kVcard = "vcard-temp";

// The searchable fields, as the XEP names them (§2, legacy and form alike).
const std::vector<std::string> kFields = {"first", "last", "nick", "email"};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return text;
}

// What a vCard says for each field.
std::map<std::string, std::string> fields_of(const Element& vcard) {
  std::map<std::string, std::string> out;
  if (const Element* n = vcard.child("N", kVcard)) {
    out["first"] = n->child_text("GIVEN", kVcard);
    out["last"] = n->child_text("FAMILY", kVcard);
  }
  out["nick"] = vcard.child_text("NICKNAME", kVcard);
  if (const Element* email = vcard.child("EMAIL", kVcard)) out["email"] = email->child_text("USERID", kVcard);
  return out;
}

// Each field asked for is found (case-insensitively) in the account's value.
bool matches(const std::map<std::string, std::string>& query, const std::map<std::string, std::string>& values) {
  for (const auto& [field, wanted] : query) {
    auto value = values.find(field);
    if (value == values.end() || lower(value->second).find(wanted) == std::string::npos) return false;
  }
  return true;
}

class SearchModule final : public xmppd::Module {
 public:
  bool reload() override {
    const xmppd::ModuleConfig& c = ctx_->config();
    listed_by_default_ = c.boolean("listed_by_default", false);
    max_results_ = std::size_t(c.integer("max_results", 30, 1, 1000));
    searches_per_minute_ = std::size_t(c.integer("max_searches_per_minute", 10, 1, 10000));
    return true;
  }

  void start(xmppd::ModuleContext& ctx) override {
    ctx_ = &ctx;
    const xmppd::ModuleConfig& c = ctx.config();
    std::string domain = c.string("domain", "search." + ctx.host());
    auto service = Jid::parse(domain);
    if (!service || !service->node().empty() || !service->is_bare()) c.reject("domain", "not a domain name: " + domain);
    domain_ = *service;
    reload();
    store_ = ctx.storage().call([](xmppd::storage::Storage& s) { return std::make_shared<search::DirectoryStore>(s.database()); });
    strand_ = ctx.add_component(domain_.str(), [this](Element stanza, const Jid& from, const Jid& to) {
      on_stanza(std::move(stanza), from, to);
    });
  }

 private:
  void on_stanza(Element stanza, const Jid& from, const Jid& to) {
    if (stanza.name() != "iq") {
      if (stanza.name() == "message" && xmppd::stanza::may_reply_with_error(stanza))
        ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
      return;
    }
    std::string_view type = stanza.attr_or("type");
    if (type != "get" && type != "set") return;
    const Element* payload = stanza.first_child();
    if (!payload) return ctx_->send(xmppd::stanza::error(stanza, "bad-request"));
    if (to != domain_) return ctx_->send(xmppd::stanza::error(stanza, "item-not-found"));
    if (type == "get" && payload->is("query", kInfo)) return ctx_->send(disco_info(stanza));
    if (type == "get" && payload->is("query", kItems)) {
      Element reply = xmppd::stanza::iq_result(stanza);
      reply.add_child("query", kItems);
      return ctx_->send(std::move(reply));
    }
    // The directory is this host's: its accounts search it and are listed in it.
    if (payload->is("query", kSearch) || payload->is("query", kRegister))
      if (from.node().empty() || from.domain() != ctx_->host())
        return ctx_->send(xmppd::stanza::error(stanza, "forbidden", "This directory serves accounts of " + ctx_->host()));
    if (type == "get" && payload->is("query", kSearch)) return ctx_->send(search_form(stanza));
    if (type == "set" && payload->is("query", kSearch)) return run(search(std::move(stanza), from.bare()));
    if (payload->is("query", kRegister)) return run(listing(std::move(stanza), from.bare()));
    ctx_->send(xmppd::stanza::error(stanza, "service-unavailable"));
  }

  void run(asio::awaitable<void> work) { ctx_->spawn(strand_, std::move(work)); }

  Element disco_info(const Element& iq) const {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kInfo);
    query.add_child("identity", kInfo)
        .set_attr("category", "directory")
        .set_attr("type", "user")
        .set_attr("name", "User directory");
    for (const char* f : {kInfo, kSearch, kRegister, kDataForms}) query.add_child("feature", kInfo).set_attr("var", f);
    return reply;
  }

  // §2.1 and §3.1: the legacy fields and the same as a form.
  static Element search_form(const Element& iq) {
    Element reply = xmppd::stanza::iq_result(iq);
    Element& query = reply.add_child("query", kSearch);
    query.add_child("instructions", kSearch)
        .add_text("Fill in one or more fields to find people who chose to be listed in this directory.");
    for (const std::string& f : kFields) query.add_child(f, kSearch);
    Element& form = query.add_child("x", kDataForms);
    form.set_attr("type", "form");
    Element& type = form.add_child("field", kDataForms);
    type.set_attr("var", "FORM_TYPE");
    type.set_attr("type", "hidden");
    type.add_child("value", kDataForms).add_text(kSearch);
    const std::map<std::string, std::string> labels = {
        {"first", "Given name"}, {"last", "Family name"}, {"nick", "Nickname"}, {"email", "E-mail address"}};
    for (const std::string& f : kFields) {
      Element& field = form.add_child("field", kDataForms);
      field.set_attr("var", f);
      field.set_attr("type", "text-single");
      field.set_attr("label", labels.at(f));
    }
    return reply;
  }

  // Whether the user may search once more now (a sliding minute).
  bool may_search(const std::string& user) {
    auto now = std::chrono::steady_clock::now();
    auto& times = searches_[user];
    while (!times.empty() && now - times.front() > std::chrono::minutes(1)) times.pop_front();
    if (times.size() >= searches_per_minute_.load()) return false;
    times.push_back(now);
    return true;
  }

  asio::awaitable<void> search(Element iq, Jid requester) {
    const Element& request = *iq.child("query", kSearch);
    const Element* form = request.child("x", kDataForms);
    std::map<std::string, std::string> query;
    for (const std::string& f : kFields) {
      std::string value;
      if (form) {
        for (const Element& field : form->nodes())
          if (field.is("field", kDataForms) && field.attr_or("var") == f) value = field.child_text("value", kDataForms);
      } else {
        value = request.child_text(f, kSearch);
      }
      if (!value.empty()) query[f] = lower(value);
    }
    if (query.empty()) co_return ctx_->send(xmppd::stanza::error(iq, "not-acceptable", "Fill in at least one field"));
    if (!may_search(requester.bare_str()))
      co_return ctx_->send(xmppd::stanza::error(iq, "resource-constraint", "Too many searches; try again in a minute"));
    auto work = [store = store_, domain = ctx_->host(), by_default = listed_by_default_.load()](xmppd::storage::Storage&) {
      return store->listed_accounts(domain, by_default);
    };
    std::vector<search::Listed> listed = co_await ctx_->storage().run(work);
    struct Found {
      std::string jid;
      std::map<std::string, std::string> values;
    };
    std::vector<Found> found;
    for (const search::Listed& account : listed) {
      auto vcard = Element::parse(account.vcard);
      if (!vcard) continue;
      auto values = fields_of(*vcard);
      if (!matches(query, values)) continue;
      found.push_back({account.username + "@" + ctx_->host(), std::move(values)});
      if (found.size() == max_results_.load()) break;
    }
    xmppd::log::debug("search: ", requester.bare_str(), " found ", found.size());
    Element reply = xmppd::stanza::iq_result(iq);
    Element& answer = reply.add_child("query", kSearch);
    if (!form) {  // §2.2: legacy items
      for (const Found& f : found) {
        Element& item = answer.add_child("item", kSearch);
        item.set_attr("jid", f.jid);
        for (const std::string& field : kFields) item.add_child(field, kSearch).add_text(f.values.count(field) ? f.values.at(field) : "");
      }
      co_return ctx_->send(std::move(reply));
    }
    // §3.2: a form of type result, with the reported fields and one item per match.
    Element& x = answer.add_child("x", kDataForms);
    x.set_attr("type", "result");
    Element& type = x.add_child("field", kDataForms);
    type.set_attr("var", "FORM_TYPE");
    type.set_attr("type", "hidden");
    type.add_child("value", kDataForms).add_text(kSearch);
    Element& reported = x.add_child("reported", kDataForms);
    for (const std::string& f : std::vector<std::string>{"jid", "first", "last", "nick", "email"}) {
      Element& field = reported.add_child("field", kDataForms);
      field.set_attr("var", f);
      field.set_attr("type", f == "jid" ? "jid-single" : "text-single");
    }
    for (const Found& f : found) {
      Element& item = x.add_child("item", kDataForms);
      auto add = [&item](const std::string& var, const std::string& value) {
        Element& field = item.add_child("field", kDataForms);
        field.set_attr("var", var);
        field.add_child("value", kDataForms).add_text(value);
      };
      add("jid", f.jid);
      for (const std::string& field : kFields) add(field, f.values.count(field) ? f.values.at(field) : "");
    }
    ctx_->send(std::move(reply));
  }

  // XEP-0077 at the directory: registering lists the account, <remove/> unlists it, and a
  // get says which it is (<registered/>).
  asio::awaitable<void> listing(Element iq, Jid account) {
    bool set = iq.attr_or("type") == "set";
    bool remove = set && iq.child("query", kRegister)->child("remove", kRegister);
    auto work = [store = store_, account, set, remove, by_default = listed_by_default_.load()](xmppd::storage::Storage&) {
      if (set) store->set_listed(account.node(), account.domain(), !remove);
      return store->listed(account.node(), account.domain()).value_or(by_default);
    };
    bool listed = co_await ctx_->storage().run(work);
    Element reply = xmppd::stanza::iq_result(iq);
    if (!set) {
      Element& query = reply.add_child("query", kRegister);
      query.add_child("instructions", kRegister)
          .add_text("Register to be found in this directory by the name, nickname and e-mail address in your vCard; "
                    "unregister to be found no more.");
      if (listed) query.add_child("registered", kRegister);
    }
    xmppd::log::debug("search: ", account.bare_str(), listed ? " is listed" : " is not listed");
    ctx_->send(std::move(reply));
  }

  xmppd::ModuleContext* ctx_ = nullptr;
  asio::any_io_executor strand_;
  Jid domain_;
  std::shared_ptr<search::DirectoryStore> store_;  // used on the storage thread only
  std::atomic<bool> listed_by_default_{false};  // settings: a reload changes them while requests run
  std::atomic<std::size_t> max_results_{30};
  std::atomic<std::size_t> searches_per_minute_{10};
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> searches_;  // on strand_
};

}  // namespace

XMPPD_MODULE("search", SearchModule);

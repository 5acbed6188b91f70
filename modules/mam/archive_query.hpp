// The XEP-0313 query protocol, shared by the account and room archives: reading a
// <query/> (its data form and XEP-0059 result set), and the result messages, <fin/>,
// the query form and the metadata answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <xmppd/element.hpp>
#include <xmppd/jid.hpp>

#include "archive_store.hpp"

namespace archive {

struct Request {
  std::string queryid;
  std::optional<xmppd::Jid> with;
  Query query;  // archive and `with` still to be filled in by the caller
  // Ids the request names as positions (before-id, after-id, RSM before/after): each must
  // be in the archive, or the answer is item-not-found.
  std::vector<std::int64_t> named_ids;
  bool flip_page = false;
};

struct Refusal {
  const char* condition;
  std::string text;
};

// Reads <query xmlns='urn:xmpp:mam:2'/>. A page larger than `max_page` is cut down to it.
std::variant<Request, Refusal> parse_request(const xmppd::Element& query, std::size_t default_page,
                                             std::size_t max_page);

// One <message><result><forwarded/></result></message> of the answer.
xmppd::Element result_message(const std::string& to, const std::string& archive_jid, const std::string& queryid,
                              const Found& found);
// The IQ result that ends the answer: <fin/> with the RSM <set/>.
xmppd::Element fin(const xmppd::Element& iq, const Page& page, bool flip_page);
// §4.1: the fields a query form may have.
xmppd::Element query_form(const xmppd::Element& iq);
// The archive's first and last message (XEP-0313 metadata).
xmppd::Element metadata(const xmppd::Element& iq, std::optional<std::pair<std::int64_t, std::int64_t>> bounds);

}  // namespace archive

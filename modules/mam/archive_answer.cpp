#include "archive_answer.hpp"

#include <algorithm>
#include <memory>

#include <xmppd/stanza.hpp>

namespace archive {

void answer(xmppd::ModuleContext& ctx, ArchiveWriter& writer, xmppd::Element iq, Request request) {
  struct Answer {
    Request request;
    Page page;
    bool unknown_id = false;
    bool failed = true;  // until the read says otherwise
  };
  auto a = std::make_shared<Answer>();
  a->request = std::move(request);
  auto work = [a](ArchiveStore& s) {
    for (std::int64_t id : a->request.named_ids)
      if (!s.contains(a->request.query.archive, id)) {
        a->unknown_id = true;
        a->failed = false;
        return;
      }
    a->page = s.query(a->request.query);
    a->failed = false;
  };
  auto done = [&ctx, a, iq = std::move(iq)] {
    if (a->failed) return ctx.send(xmppd::stanza::error(iq, "internal-server-error"));
    if (a->unknown_id) return ctx.send(xmppd::stanza::error(iq, "item-not-found", "no such message in the archive"));
    std::string to(iq.attr_or("from"));
    const Request& r = a->request;
    auto send_one = [&](const Found& f) { ctx.send(result_message(to, r.query.archive, r.queryid, f)); };
    if (r.flip_page) std::for_each(a->page.items.rbegin(), a->page.items.rend(), send_one);
    else std::for_each(a->page.items.begin(), a->page.items.end(), send_one);
    ctx.send(fin(iq, a->page, r.flip_page));
  };
  writer.read({std::move(work), std::move(done)});
}

}  // namespace archive

// Answers a parsed XEP-0313 query against one archive: the results, in order, then <fin/>
// (or item-not-found for an id the archive does not hold). Reads go through the writer's
// queue, so a query sees every message archived before it.
#pragma once

#include <xmppd/element.hpp>
#include <xmppd/module.hpp>

#include "archive_query.hpp"
#include "archive_writer.hpp"

namespace archive {

// `request.query.archive` names the archive, whose JID the results come from; they go to
// the IQ's sender.
void answer(xmppd::ModuleContext& ctx, ArchiveWriter& writer, xmppd::Element iq, Request request);

}  // namespace archive

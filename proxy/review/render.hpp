// Rendering a Review: one self-contained HTML page (inline CSS and script, no external asset,
// readable offline and on a phone) for the admin endpoint's `GET /` and for `rdpbridge logs
// --html`, and its JSON twins for /api/review and the per-section /api/ paths. Every string
// that came from a log or a peer is escaped. Pure: no files, no clock.
#pragma once

#include <string>

#include "proxy/review/review.hpp"

namespace rdpbridge::review {

// The whole page. Live pages (Review::live) show the sessions and refresh every 10 s by
// fetching their own URL again, keeping the reader's scroll position, open failures and
// filters; reports have no script beyond the filters of the recent failures.
std::string render_html(const Review& review);

// The review as JSON, field names as in review.hpp: title, generated, access, live and every
// section below merged into one object.
Json to_json(const Review& review);
// One section each, as an object keyed by the model's field names:
Json backends_json(const Review& review);  // {"backends": [...]}
Json failures_json(const Review& review);  // {"timelines": [...], "failures_in_window": N}
Json causes_json(const Review& review);    // {"causes": [...]}
Json sessions_json(const Review& review);  // {"sessions": [...]}
Json recent_json(const Review& review);    // {"recent_failures": [...]}

}  // namespace rdpbridge::review

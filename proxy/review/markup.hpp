// What the review's HTML files share (internal to proxy/review/): escaping, so that text from a
// log or a peer (a cookie, a user name, a detail, a backend name) stays text in an element and
// in an attribute value alike, and how times and causes appear on the page.
#pragma once

#include <string>
#include <string_view>

namespace rdpbridge::review {

// & < > " ' as character references: safe in text and in quoted attribute values.
std::string escape(std::string_view text);

// "2026-12-05T09:52:22.670Z" as "2026-12-05 09:52:22" (the page says times are UTC); text in
// another form is returned as it is.
std::string short_time(std::string_view rfc3339);
// A <time> element for an RFC 3339 UTC time; an em dash when there is none.
std::string time_element(std::string_view rfc3339);
// A cause id linking to its explanation in the #causes section.
std::string cause_link(std::string_view cause);

}  // namespace rdpbridge::review

// The page's sections (internal to proxy/review/), each a <section> whose id the page's script
// and tests find it by: #backends, #failures (chart.cpp), #causes, #sessions, #recent.
#pragma once

#include <string>

#include "proxy/review/review.hpp"

namespace rdpbridge::review {

std::string backends_section(const Review& review);
std::string failures_section(const Review& review);
std::string causes_section(const Review& review);
std::string sessions_section(const Review& review);  // live pages only
std::string recent_section(const Review& review);

}  // namespace rdpbridge::review

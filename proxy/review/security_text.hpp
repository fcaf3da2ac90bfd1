// One leg's security as a person reads it ("TLS 1.0 AES256-SHA", "TLS 1.2 … + NLA",
// "Standard RDP Security 128BIT"), from the "front"/"back" object of a session_established event:
// the live page and the report built from log files say it the same way.
#pragma once

#include <string>

#include "proxy/review/review.hpp"

namespace rdpbridge::review {

std::string security_text(const Json& leg);

}  // namespace rdpbridge::review

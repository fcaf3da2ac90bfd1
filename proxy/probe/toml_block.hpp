// The recommended backend as a ready [[backend]] block for rdpbridge.toml, every value
// commented with the finding behind it. Together with a [[listener]] whose default_backend names
// it, the block passes `rdpbridge check-config`.
#pragma once

#include <string>

#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

std::string toml_block(const Findings& f, const Recommendation& r);

// A TOML basic string, quotes included.
std::string toml_string(std::string_view s);

}  // namespace rdpbridge::probe

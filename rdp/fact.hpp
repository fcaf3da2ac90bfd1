// What the bridge learns for the handshake log: a name and a value, both plain text.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace rdpbridge::rdp {

using Fact = std::pair<std::string, std::string>;
using Facts = std::vector<Fact>;

}  // namespace rdpbridge::rdp

// Which backend a client goes to: the first [[route]] whose mstshash pattern matches the
// client's cookie, else the listener's default backend.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace rdpbridge::proxy {

// Case-insensitive; a trailing '*' matches any suffix.
bool cookie_matches(const std::string& pattern, const std::string& cookie);

// The backend name, or nullopt when nothing applies.
std::optional<std::string> pick_backend(const config::Config& config,
                                        const config::Listener& listener,
                                        const std::optional<std::string>& mstshash);

}  // namespace rdpbridge::proxy

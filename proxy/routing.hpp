// Which backend a client goes to: the first [[route]] whose mstshash pattern matches the
// client's cookie, else the listener's default backend.
#pragma once

#include <optional>
#include <string>

#include "config/config.hpp"

namespace rdpbridge::proxy {

// Case-insensitive; a trailing '*' matches any suffix.
bool cookie_matches(const std::string& pattern, const std::string& cookie);

struct Pick {
    std::string backend;
    const config::Route* route = nullptr;  // the [[route]] that matched; none: the default
};
// The backend and the route that chose it, or nullopt when nothing applies.
std::optional<Pick> pick(const config::Config& config, const config::Listener& listener,
                         const std::optional<std::string>& mstshash);

// The backend name, or nullopt when nothing applies.
std::optional<std::string> pick_backend(const config::Config& config,
                                        const config::Listener& listener,
                                        const std::optional<std::string>& mstshash);

}  // namespace rdpbridge::proxy

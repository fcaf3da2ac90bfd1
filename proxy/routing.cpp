#include "proxy/routing.hpp"

#include <algorithm>
#include <cctype>

namespace rdpbridge::proxy {

namespace {

bool iequal(char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
}

}  // namespace

bool cookie_matches(const std::string& pattern, const std::string& cookie) {
    if (!pattern.empty() && pattern.back() == '*') {
        const std::size_t n = pattern.size() - 1;
        return cookie.size() >= n &&
               std::equal(pattern.begin(), pattern.begin() + long(n), cookie.begin(), iequal);
    }
    return std::equal(pattern.begin(), pattern.end(), cookie.begin(), cookie.end(), iequal);
}

std::optional<Pick> pick(const config::Config& config, const config::Listener& listener,
                         const std::optional<std::string>& mstshash) {
    if (mstshash) {
        for (const auto& route : config.routes) {
            if (!route.listener.empty() && route.listener != listener.name) continue;
            if (cookie_matches(route.mstshash, *mstshash)) return Pick{route.backend, &route};
        }
    }
    if (!listener.default_backend.empty()) return Pick{listener.default_backend, nullptr};
    return std::nullopt;
}

std::optional<std::string> pick_backend(const config::Config& config,
                                        const config::Listener& listener,
                                        const std::optional<std::string>& mstshash) {
    auto p = pick(config, listener, mstshash);
    if (!p) return std::nullopt;
    return p->backend;
}

}  // namespace rdpbridge::proxy

#include "config/checks.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

#include "config/endpoint.hpp"

namespace rdpbridge::config {

std::optional<std::string> check_pin(std::string_view text, std::string& out) {
    std::string hex;
    for (char c : text) {
        if (c == ':') continue;
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            return in_quotes(text) + " is not a SHA-256 pin: '" + std::string(1, c) +
                   "' is not a hex digit; write 64 hex digits, ':' between byte pairs optional";
        }
        hex += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    if (hex.size() != 64) {
        return in_quotes(text) + " is not a SHA-256 pin: it has " + std::to_string(hex.size()) +
               " hex digits, a SHA-256 pin has 64 (32 bytes); ':' separators are optional";
    }
    out = std::move(hex);
    return std::nullopt;
}

bool is_listener_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '_' || c == '.' || c == '-';
    });
}

std::optional<std::string> admin_exposure_problem(const Endpoint& bind) {
    if (is_loopback(bind)) return std::nullopt;
    return in_quotes(to_string(bind)) +
           " is not a loopback address (127.0.0.0/8 or ::1), and without credentials the admin "
           "endpoint would show the gateway's metrics and sessions to anyone who can reach it";
}

}  // namespace rdpbridge::config

#include "config/wording.hpp"

namespace rdpbridge::config {

// Appended piece by piece: g++ 12 at -O3 reports a false -Wrestrict on "\"" + std::string(s)
// once this is no longer inlined into its callers.
std::string in_quotes(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 2);
    out += '"';
    out += s;
    out += '"';
    return out;
}

std::string join(std::span<const std::string_view> items, bool quote) {
    std::string out;
    for (std::string_view item : items) {
        if (!out.empty()) out += ", ";
        out += quote ? in_quotes(item) : std::string(item);
    }
    return out;
}

}  // namespace rdpbridge::config

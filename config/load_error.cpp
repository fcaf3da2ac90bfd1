// How a load error is printed, and where an error found after loading is placed.
#include "config/load.hpp"

#include <string_view>

namespace rdpbridge::config {

std::string LoadError::to_string() const {
    std::string out = file;
    // Appended piece by piece: g++ 12 at -O3 reports a false -Wrestrict on ":" + std::to_string().
    if (line > 0) {
        out += ':';
        out += std::to_string(line);
        out += ':';
        out += std::to_string(column);
    }
    out += ": ";
    if (!key.empty() && key != file) out += key + ": ";
    return out + message;
}

LoadError error_at(const Config& config, const std::string& key, std::string message) {
    // The key itself, else the nearest enclosing table that was written down.
    std::string_view k = key;
    for (;;) {
        if (auto it = config.positions.find(k); it != config.positions.end())
            return LoadError{config.source, it->second.line, it->second.column, key,
                             std::move(message)};
        const auto dot = k.rfind('.');
        if (dot == std::string_view::npos) break;
        k = k.substr(0, dot);
    }
    return LoadError{config.source.empty() ? key : config.source, 0, 0, key, std::move(message)};
}

}  // namespace rdpbridge::config

#include "config/config.hpp"

#include <algorithm>

namespace rdpbridge::config {

std::size_t default_handshakes_per_source(std::size_t max_handshakes) {
    return std::min(max_handshakes, std::max<std::size_t>(4, max_handshakes / 8));
}

const Backend* Config::find_backend(std::string_view name) const {
    for (const Backend& b : backends) {
        if (b.name == name) return &b;
    }
    return nullptr;
}

// These spellings are the ones the TOML file uses, so logs and config read the same.
std::string_view to_string(TlsVersion v) {
    switch (v) {
        case TlsVersion::tls1_0:
            return "1.0";
        case TlsVersion::tls1_1:
            return "1.1";
        case TlsVersion::tls1_2:
            return "1.2";
        case TlsVersion::tls1_3:
            return "1.3";
    }
    return "?";
}

std::string_view to_string(NlaMode m) {
    switch (m) {
        case NlaMode::off:
            return "off";
        case NlaMode::offer:
            return "offer";
        case NlaMode::require:
            return "require";
    }
    return "?";
}

std::string_view to_string(BackendSecurity s) {
    switch (s) {
        case BackendSecurity::automatic:
            return "auto";
        case BackendSecurity::tls:
            return "tls";
        case BackendSecurity::rdp:
            return "rdp";
    }
    return "?";
}

}  // namespace rdpbridge::config

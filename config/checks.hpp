// Value checks that need no TOML, shared by the TOML reader and the quick-start flags so that a
// bad value reads the same from either. Each returns the problem as a message, or nothing when
// `out` was set.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/suggest.hpp"
#include "config/wording.hpp"

namespace rdpbridge::config {

template <typename E>
struct Choice {
    std::string_view name;
    E value;
};

inline constexpr Choice<BackendSecurity> kSecurityChoices[] = {
    {"auto", BackendSecurity::automatic},
    {"tls", BackendSecurity::tls},
    {"rdp", BackendSecurity::rdp},
};
inline constexpr Choice<TlsVersion> kTlsVersionChoices[] = {
    {"1.0", TlsVersion::tls1_0},
    {"1.1", TlsVersion::tls1_1},
    {"1.2", TlsVersion::tls1_2},
    {"1.3", TlsVersion::tls1_3},
};
// Clients are modern Windows; only the back leg has to put up with legacy hosts.
inline constexpr Choice<TlsVersion> kFrontTlsVersionChoices[] = {
    {"1.2", TlsVersion::tls1_2},
    {"1.3", TlsVersion::tls1_3},
};
inline constexpr Choice<NlaMode> kNlaChoices[] = {
    {"off", NlaMode::off},
    {"offer", NlaMode::offer},
    {"require", NlaMode::require},
};
inline constexpr Choice<CertVerify> kVerifyChoices[] = {
    {"tofu", CertVerify::tofu},
    {"off", CertVerify::off},
    {"pin", CertVerify::pin},
    {"ca", CertVerify::ca},
};
inline constexpr Choice<FirstUse> kFirstUseChoices[] = {
    {"learn", FirstUse::learn},
    {"refuse", FirstUse::refuse},
};
inline constexpr Choice<std::string_view> kLevelChoices[] = {
    {"trace", "trace"}, {"debug", "debug"}, {"info", "info"}, {"warn", "warn"}, {"error", "error"},
};

// `what` names the kind of value in the message: "a TLS version", "an NLA mode".
template <typename E, std::size_t N>
std::optional<std::string> check_choice(std::string_view text, const Choice<E> (&choices)[N],
                                        std::string_view what, E& out) {
    std::vector<std::string_view> names;
    for (const Choice<E>& c : choices) {
        if (c.name == text) {
            out = c.value;
            return std::nullopt;
        }
        names.push_back(c.name);
    }
    return in_quotes(text) + " is not " + std::string(what) + "; " + did_you_mean(text, names) +
           "use one of " + join(names, true);
}

// A SHA-256 pin as 64 hex digits, ':' between byte pairs optional; `out` gets it in lower case
// without separators.
std::optional<std::string> check_pin(std::string_view text, std::string& out);

// Letters, digits, '_', '.' and '-' only.
bool is_listener_name(std::string_view name);

// Why the admin endpoint may not listen on `bind` without credentials, or nullopt on loopback.
// The config file and the quick-start flags each add the fix in their own terms.
std::optional<std::string> admin_exposure_problem(const Endpoint& bind);

}  // namespace rdpbridge::config

#include "config/config.hpp"

#include <algorithm>

#include "config/channel_policy.hpp"

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

std::string_view to_string(CertVerify v) {
    switch (v) {
        case CertVerify::tofu:
            return "tofu";
        case CertVerify::off:
            return "off";
        case CertVerify::pin:
            return "pin";
        case CertVerify::ca:
            return "ca";
    }
    return "?";
}

std::string_view to_string(AdminAccess a) {
    switch (a) {
        case AdminAccess::loopback_only:
            return "loopback only";
        case AdminAccess::bearer_token:
            return "bearer token";
        case AdminAccess::basic_auth:
            return "basic auth";
    }
    return "?";
}

std::vector<std::string> warnings(const Config& config) {
    std::vector<std::string> out;
    for (const Backend& b : config.backends) {
        const auto& tls = b.tls;
        const std::string where = "backend \"" + b.name + "\": ";
        if (tls.verify == CertVerify::off) {
            out.push_back(where +
                          "verify = \"off\": the host's identity is not checked, so anyone "
                          "answering on its address gets the session, and no credentials are "
                          "sent to it (NLA delegation, auto-logon, service account). Fix: remove "
                          "verify (trust on first use is the default), or pin the host");
        }
        const bool strict = tls.verify == CertVerify::pin || tls.verify == CertVerify::ca;
        if (strict && b.security == BackendSecurity::automatic && tls.rdp_key_sha256.empty()) {
            out.push_back(where + "security = \"auto\" with verify = \"" +
                          std::string(to_string(tls.verify)) +
                          "\" and no rdp_key_sha256: a fall-back to Standard RDP Security cannot "
                          "be verified and will be refused (host_rdp_key_not_pinned). Fix: set "
                          "security = \"tls\" if the host always speaks TLS, or rdp_key_sha256 "
                          "to its RDP key (rdpbridge probe prints it)");
        }
    }
    channel_warnings(config, out);
    return out;
}

}  // namespace rdpbridge::config

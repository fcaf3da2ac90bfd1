// TLS: which versions the host accepts, which cipher suites per version and in what order it
// picks them, secure renegotiation, and its certificate. Every handshake runs on its own
// connection after the X.224 exchange that makes the host start TLS.
#pragma once

#include <openssl/ssl.h>

#include <string>

#include "config/config.hpp"
#include "proxy/probe/findings.hpp"
#include "proxy/probe/wire.hpp"

namespace rdpbridge::probe {

struct TlsEndpoint {
    std::string ip;
    uint16_t port = 3389;
    uint32_t x224_request = rdp::protocol::ssl;  // sent before every handshake
    std::string sni;
};

// Bounds: the enumeration of one version stops after this many accepted suites (and says so).
inline constexpr int kMaxSuitesPerVersion = 48;

// The four versions are scanned in parallel, each on its own sequence of connections.
TlsFindings scan_tls(const TlsEndpoint& endpoint, Budget& budget);

CipherFacts cipher_facts(const SSL_CIPHER* cipher);

struct ProfileCheck {
    bool ok = false;
    std::string detail;  // negotiated version and suite, or why the handshake failed
};

// One handshake exactly as the gateway would make it for `policy` (tls::make_backend_context,
// SNI, pin check), after an X.224 request for SSL as the gateway sends.
ProfileCheck check_profile(const TlsEndpoint& endpoint, const config::BackendTls& policy,
                           Budget& budget);

}  // namespace rdpbridge::probe

// The certificate facts an operator needs to judge a host's certificate and to pin it: what
// tls/inspect.hpp reports plus the names, key type and whether the host signed it itself.
#pragma once

#include <openssl/x509.h>

#include <optional>

#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

std::optional<CertificateFacts> certificate_facts(X509* cert);

// From DER (the X.509 chains Standard RDP Security hosts send in SC_SECURITY).
std::optional<CertificateFacts> certificate_facts(rdp::ByteView der);

}  // namespace rdpbridge::probe

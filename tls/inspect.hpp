// Facts about an established (or failed) TLS session, for the handshake log and for checks
// the gateway makes itself (pins, expiry warnings).
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>

namespace rdpbridge::tls {

struct PeerCertificate {
    std::string subject;  // RFC 2253, e.g. "CN=host"
    std::string issuer;
    std::string not_before;  // ISO 8601 UTC
    std::string not_after;
    int days_left = 0;        // negative once expired
    std::string sha256;       // lower-case hex of the DER encoding
    std::string spki_sha256;  // lower-case hex of the DER SubjectPublicKeyInfo
    int key_bits = 0;
    std::string signature_algorithm;
};

struct SessionFacts {
    std::string version;  // "TLSv1", "TLSv1.2", ...
    std::string cipher;   // OpenSSL name
    bool secure_renegotiation = false;
    bool resumed = false;  // an earlier session's keys, without a certificate or key exchange
    std::optional<PeerCertificate> peer;
};

SessionFacts inspect(SSL* ssl);
// "TLS 1.0" .. "TLS 1.3", "SSL 3.0", or the number in hex for anything else.
std::string version_name(int version);
std::optional<PeerCertificate> describe_certificate(X509* cert);

// Accepts "aa:bb:..." or "AABB..." and compares with a PeerCertificate::sha256.
bool pin_matches(const std::string& pin_hex, const std::string& sha256_hex);

}  // namespace rdpbridge::tls

// A host's identity as the gateway remembers it (trust on first use, like OpenSSH's
// known_hosts): the keys it presented on each security layer, and which layers it has shown.
// The decisions — does this key match, is this the first contact, was it renewed — are pure and
// live here; the store that keeps identities on disk is the proxy's (proxy/known_hosts).
#pragma once

#include <cstdint>
#include <string>

#include "rdp/server_security.hpp"

namespace rdpbridge::rdp {

// The security layers a host has selected in its Connection Confirms.
struct SecurityLayers {
    bool tls = false;  // PROTOCOL_SSL (or TLS under NLA)
    bool nla = false;  // PROTOCOL_HYBRID / HYBRID_EX
    bool rdp = false;  // Standard RDP Security
    bool empty() const { return !tls && !nla && !rdp; }
    bool operator==(const SecurityLayers&) const = default;
};
// What one Connection Confirm's selectedProtocol shows.
SecurityLayers layers_of(uint32_t selected_protocol);
// "TLS+NLA", "RDP", "none".
std::string to_string(const SecurityLayers& layers);

// Fingerprints are lower-case hex SHA-256; empty means "not seen".
struct HostIdentity {
    std::string tls_cert_sha256;  // the DER certificate
    std::string tls_spki_sha256;  // its SubjectPublicKeyInfo: the key, whatever the certificate
    std::string rdp_key_sha256;   // Standard RDP Security RSA key, see rdp_key_sha256()
    SecurityLayers layers;
};

// The fingerprint of a Standard RDP Security server key (proprietary certificate or the X.509
// key in SC_SECURITY): SHA-256 over the modulus as sent (little-endian, without padding)
// followed by the public exponent as 4 little-endian bytes. The same key gives the same value
// whichever certificate form carries it. An error when OpenSSL cannot compute SHA-256.
Result<std::string> rdp_key_sha256(const RsaPublicKey& key);

enum class IdentityVerdict {
    match,           // the recorded key
    renewed,         // TLS: a new certificate for the recorded key (SPKI): the same host
    learn,           // nothing recorded on this layer: trust on first use
    refuse_unknown,  // nothing recorded, and first use must be accepted by an operator
    changed,         // a different key than the recorded one
};

struct IdentityDecision {
    IdentityVerdict verdict;
    std::string detail;  // both fingerprints for `changed`, the new one otherwise
};

// `recorded` is null (or holds no key) when the store knows nothing of the host. A host recorded
// only with the other layer's key counts as changed: an impostor could otherwise "upgrade" an
// RDP-only host to TLS with a certificate of its own (or the reverse) and be learnt silently.
IdentityDecision check_tls_identity(const HostIdentity* recorded, const std::string& cert_sha256,
                                    const std::string& spki_sha256, bool learn_first_use);
IdentityDecision check_rdp_identity(const HostIdentity* recorded, const std::string& key_sha256,
                                    bool learn_first_use);

}  // namespace rdpbridge::rdp

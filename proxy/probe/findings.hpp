// What `rdpbridge probe` learned about a host, as plain data. The scanners fill it, the verdict
// reads it, and the human and JSON reports print it; none of them needs the others' code, so
// each can be tested on a hand-made Findings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "rdp/diagnosis.hpp"
#include "rdp/host_identity.hpp"
#include "rdp/server_security.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::probe {

// Exit codes of `rdpbridge probe` (also in --help and docs/probe.md).
inline constexpr int kExitRdpHost = 0;
inline constexpr int kExitUnreachable = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitTrustFailed = 3;  // --trust: config invalid, store unusable, nothing seen
inline constexpr int kExitNotRdp = 4;

struct Target {
    std::string host;  // as given
    uint16_t port = 3389;
    std::string sni;  // --sni; empty = none sent
};

// Why the probe could not talk RDP to the host at all, in the diagnosis vocabulary
// (dns_not_found, connection_refused, connection_timed_out, host_silent, host_closed...).
struct Unreachable {
    rdp::Cause cause;
    std::string detail;
};

// ------------------------------------------------------------------------------ layers

enum class LayerAnswer {
    selected,        // RDP_NEG_RSP
    failure,         // RDP_NEG_FAILURE
    no_negotiation,  // a Connection Confirm without negotiation data: a pre-RDP-5.2 host
    other_pdu,       // a TPKT frame that is not a Connection Confirm (xrdp: an MCS disconnect)
    no_answer,       // nothing within the deadline
    closed,          // closed or reset without answering
};

struct LayerResult {
    std::string name;  // "RDP", "SSL", "HYBRID", ...: the request as the report names it
    uint32_t requested = 0;
    LayerAnswer answer = LayerAnswer::no_answer;
    uint32_t selected = 0;  // with `selected`
    uint8_t flags = 0;      // RDP_NEG_RSP flags, with `selected`
    std::optional<rdp::NegFailureCode> failure;
    std::string detail;  // what was seen, for anything but `selected`
};

// ------------------------------------------------------------------------------ TLS

struct CipherFacts {
    std::string name;  // OpenSSL name, e.g. "ECDHE-RSA-AES256-GCM-SHA384"
    std::string iana;  // RFC name, e.g. "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
    int bits = 0;
    std::string key_exchange;  // "RSA", "ECDH", "DH", "any" (TLS 1.3)
    bool forward_secrecy = false;
    bool aead = false;
};

enum class CipherOrder { unknown, server, client };

struct TlsVersionResult {
    std::string version;  // "1.0", "1.1", "1.2", "1.3"
    bool accepted = false;
    std::string refusal;               // why the handshake failed, when not accepted
    std::vector<CipherFacts> ciphers;  // in the order the host chose them
    CipherOrder order = CipherOrder::unknown;
    std::optional<bool> secure_renegotiation;  // TLS <= 1.2 only
    bool complete = true;                      // false when a bound stopped the enumeration
};

struct CertificateFacts {
    std::string subject;
    std::string issuer;
    std::vector<std::string> subject_alt_names;  // "DNS:host", "IP:192.0.2.7"
    std::string not_before;                      // ISO 8601 UTC
    std::string not_after;
    int days_left = 0;  // negative once expired
    bool expired = false;
    bool not_yet_valid = false;
    std::string key_type;  // "RSA", "EC", ...
    int key_bits = 0;
    std::string signature_algorithm;
    bool self_signed = false;
    std::string sha256;       // lower-case hex of the DER encoding
    std::string spki_sha256;  // lower-case hex of the DER SubjectPublicKeyInfo
};

struct TlsFindings {
    uint32_t via = 0;  // the protocol requested in X.224 before each handshake
    std::vector<TlsVersionResult> versions;  // 1.0, 1.1, 1.2, 1.3 in that order
    std::optional<CertificateFacts> certificate;
};

// ------------------------------------------------------------------------------ Standard RDP

enum class MethodOutcome {
    accepted,    // SC_SECURITY names the offered method
    overridden,  // the host selected a method that was not offered (xrdp does this)
    refused,     // closed, or disconnected, instead of a Connect Response
    error,       // the probe could not get that far (detail says why)
};

struct MethodResult {
    uint32_t offered = 0;  // CS_SECURITY encryptionMethods
    MethodOutcome outcome = MethodOutcome::error;
    uint32_t selected = 0;  // SC_SECURITY encryptionMethod
    rdp::EncryptionLevel level = rdp::EncryptionLevel::none;
    std::string detail;
};

struct RdpCertificateFacts {
    rdp::CertificateKind kind = rdp::CertificateKind::proprietary;
    bool temporary = false;
    uint32_t key_bits = 0;
    uint32_t exponent = 0;
    std::optional<bool> signature_valid;        // proprietary only
    std::optional<CertificateFacts> x509_leaf;  // X.509 chains only
    std::size_t chain_length = 0;
    // rdp::rdp_key_sha256 of the server key: the value the gateway pins (rdp_key_sha256) and
    // records on first use, so the probe's and the store's can be compared.
    std::string key_sha256;
};

struct RdpSecurityFindings {
    std::vector<MethodResult> methods;       // one offered method at a time: 40, 56, 128, FIPS
    std::optional<MethodResult> all;         // every method offered at once: what the host prefers
    std::optional<uint32_t> server_version;  // SC_CORE version, e.g. 0x00080004
    std::optional<RdpCertificateFacts> certificate;
};

// ------------------------------------------------------------------------------ NLA

struct NlaFindings {
    bool required = false;        // HYBRID_REQUIRED_BY_SERVER to an SSL request
    bool supported = false;       // HYBRID or HYBRID_EX selected when offered
    std::string credssp_version;  // empty: not learned (see note)
    std::string note;
};

// ------------------------------------------------------------------------------ verdict

struct Problem {
    std::string cause;  // rdp::diagnosis cause id, or empty when there is none
    std::string summary;
    std::string why;
    std::string fix;
};

struct Recommendation {
    bool usable = false;  // false: no profile of ours reaches this host (yet)
    config::Backend backend;
    bool has_tls = false;  // whether the TLS settings of [backend.tls] matter (security = "tls")
    std::vector<std::string> notes;  // printed as comments above the block
    // Why each key has its value, printed as its comment; keys as in the TOML file
    // ("security", "tls.min_version", ...).
    std::map<std::string, std::string> why;
    std::optional<bool> verified;  // a TLS handshake with exactly this profile succeeded
    std::string verification_detail;
};

struct Verdict {
    std::string era;
    std::vector<Problem> problems;
    std::vector<std::string> risks;
    Recommendation recommendation;
    std::string toml;
};

// ------------------------------------------------------------------------------ --trust

// What `rdpbridge probe --trust NAME` wrote to the known-hosts store.
struct TrustRecord {
    std::string backend;
    std::string address;         // "host:port" as the gateway names the backend's address
    std::string store;           // the file
    rdp::HostIdentity identity;  // as recorded now (layers merged with those recorded before)
    // Store field names ("rdp_key_sha256", ...) whose earlier value this record replaced, or
    // "address" when the entry was for another address.
    std::vector<std::string> replaced;
};

// ------------------------------------------------------------------------------ -c CONFIG

// What the config makes the gateway do to backend NAME's sessions that the probe cannot see on
// the wire, since it asks for no channels: its channel policy ([backend.channels] and the
// [route.channels] of routes to it; described as config/channel_policy.hpp's describe() does).
struct ConfiguredChannelPolicy {
    std::string backend;
    std::string policy;               // the backend's own; "" without one
    std::vector<std::string> routes;  // "mstshash=alice*: channels allow rdpdr", one per route
};

// ------------------------------------------------------------------------------ all of it

enum class Reach { rdp, unreachable, not_rdp };

struct Findings {
    Target target;
    std::string address;  // the IP address probed
    Reach reach = Reach::rdp;
    std::optional<Unreachable> unreachable;  // with Reach::unreachable / not_rdp
    std::vector<LayerResult> layers;
    std::optional<TlsFindings> tls;
    std::optional<RdpSecurityFindings> rdp_security;
    NlaFindings nla;
    Verdict verdict;
    int connections = 0;
    double elapsed_ms = 0;
    bool budget_exhausted = false;
    std::optional<TrustRecord> trusted;  // with --trust, once recorded
    // With --trust NAME -c CONFIG, when backend NAME or a route to it has a channel policy.
    std::optional<ConfiguredChannelPolicy> channel_policy;
};

int exit_code(const Findings& f);

// What the gateway would record of this host on first use, from what the probe saw: the TLS
// certificate and its SPKI, the Standard RDP Security key, and the layers the host selected.
rdp::HostIdentity host_identity(const Findings& f);

// The stable names the JSON report uses (docs/probe.md).
std::string_view to_string(LayerAnswer a);
std::string_view to_string(MethodOutcome o);
std::string_view to_string(CipherOrder o);
std::string_view to_string(Reach r);

}  // namespace rdpbridge::probe

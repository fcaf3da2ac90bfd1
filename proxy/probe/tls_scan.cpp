#include "proxy/probe/tls_scan.hpp"

#include <openssl/err.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <thread>

#include "proxy/probe/cert_facts.hpp"
#include "proxy/probe/pdus.hpp"
#include "rdp/x224.hpp"
#include "tls/context.hpp"
#include "tls/inspect.hpp"

namespace rdpbridge::probe {

namespace {

using CtxPtr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
constexpr std::size_t kMaxConfirm = 512;

// Everything OpenSSL can still speak, including what its defaults refuse: the point is to
// learn what the host accepts, not to protect this connection (it carries no secrets).
constexpr const char* kAllCiphers = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
constexpr std::array<const char*, 5> kTls13Suites{
    "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256",
    "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};

struct VersionSpec {
    const char* name;
    int openssl;
};
constexpr std::array<VersionSpec, 4> kVersions{{{"1.0", TLS1_VERSION},
                                                {"1.1", TLS1_1_VERSION},
                                                {"1.2", TLS1_2_VERSION},
                                                {"1.3", TLS1_3_VERSION}}};

CtxPtr scanning_context() {
    CtxPtr ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    if (!ctx) return ctx;
    SSL_CTX_set_security_level(ctx.get(), 0);
    // Hosts without RFC 5746 must still complete a handshake so that we can report it.
    SSL_CTX_set_options(ctx.get(),
                        SSL_OP_LEGACY_SERVER_CONNECT | SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_cipher_list(ctx.get(), kAllCiphers);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ":") + n;
    return out;
}

// The suites a ClientHello for exactly this version would carry.
std::vector<std::string> candidates(SSL_CTX* ctx, const VersionSpec& v) {
    if (v.openssl == TLS1_3_VERSION) return {kTls13Suites.begin(), kTls13Suites.end()};
    std::vector<std::string> out;
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx), SSL_free);
    if (!ssl) return out;
    SSL_set_min_proto_version(ssl.get(), v.openssl);
    SSL_set_max_proto_version(ssl.get(), v.openssl);
    STACK_OF(SSL_CIPHER)* list = SSL_get1_supported_ciphers(ssl.get());
    for (int i = 0; list && i < sk_SSL_CIPHER_num(list); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
        // The list already fits the version range; TLS 1.3 suites are enumerated separately.
        if (std::string_view(SSL_CIPHER_get_version(c)) != "TLSv1.3")
            out.emplace_back(SSL_CIPHER_get_name(c));
    }
    sk_SSL_CIPHER_free(list);
    return out;
}

struct Handshake {
    CipherFacts cipher;
    std::optional<bool> secure_renegotiation;
    std::optional<CertificateFacts> certificate;
};

// One connection: X.224 for the TLS-based protocol, then a handshake offering only `suites`.
Outcome<Handshake> attempt(const TlsEndpoint& ep, SSL_CTX* ctx, const VersionSpec& v,
                           const std::vector<std::string>& suites, Budget& budget) {
    auto connection = Connection::open(ep.ip, ep.port, budget);
    if (!connection.ok()) return connection.failure();
    auto answer = connection.value().exchange(connection_request(ep.x224_request), kMaxConfirm);
    if (!answer.ok()) return answer.failure();
    auto confirm = rdp::decode_connection_confirm(answer.value());
    auto* rsp = confirm ? std::get_if<rdp::NegotiationResponse>(&confirm->negotiation) : nullptr;
    if (!rsp || rsp->selected_protocol == rdp::protocol::rdp) {
        return WireFailure{
            rdp::Cause::host_selected_unoffered,
            "the host no longer selects TLS for " + rdp::protocols_to_string(ep.x224_request)};
    }
    const std::string list = join(suites);
    auto tls = connection.value().start_tls(ctx, [&](SSL* ssl) {
        SSL_set_min_proto_version(ssl, v.openssl);
        SSL_set_max_proto_version(ssl, v.openssl);
        if (v.openssl == TLS1_3_VERSION)
            SSL_set_ciphersuites(ssl, list.c_str());
        else
            SSL_set_cipher_list(ssl, list.c_str());
        if (!ep.sni.empty()) SSL_set_tlsext_host_name(ssl, ep.sni.c_str());
    });
    if (!tls.ok()) return tls.failure();
    SSL* ssl = tls.value();
    Handshake h;
    h.cipher = cipher_facts(SSL_get_current_cipher(ssl));
    if (v.openssl != TLS1_3_VERSION)
        h.secure_renegotiation = SSL_get_secure_renegotiation_support(ssl) == 1;
    std::unique_ptr<X509, decltype(&X509_free)> peer(SSL_get1_peer_certificate(ssl), X509_free);
    h.certificate = certificate_facts(peer.get());
    return h;
}

// How a host says "not this version / none of these suites": an alert, or (SChannel) a closed
// or reset connection. Silence and failed connects say nothing about the offer.
bool is_refusal(rdp::Cause cause) {
    switch (cause) {
        case rdp::Cause::host_silent:
        case rdp::Cause::connection_timed_out:
        case rdp::Cause::connection_refused:
        case rdp::Cause::host_unreachable:
        case rdp::Cause::network_unreachable:
        case rdp::Cause::connect_failed:
            return false;
        default:
            return true;
    }
}

struct VersionScan {
    TlsVersionResult result;
    std::optional<CertificateFacts> certificate;
};

// Offers the remaining candidates, removes the suite the host picked, and repeats until the
// host refuses: the picks are the accepted suites, in the host's order when it has one.
VersionScan scan_version(const TlsEndpoint& ep, SSL_CTX* ctx, const VersionSpec& v,
                         Budget& budget) {
    VersionScan scan;
    scan.result.version = v.name;
    auto remaining = candidates(ctx, v);
    while (!remaining.empty()) {
        if (int(scan.result.ciphers.size()) >= kMaxSuitesPerVersion || budget.exhausted()) {
            scan.result.complete = false;
            if (scan.result.ciphers.empty())
                scan.result.refusal = "not tested: the probe's time budget was spent";
            break;
        }
        auto h = attempt(ep, ctx, v, remaining, budget);
        if (!h.ok()) {
            scan.result.complete = is_refusal(h.failure().cause);
            if (scan.result.ciphers.empty()) {
                scan.result.refusal =
                    std::string(rdp::describe(h.failure().cause).id) + ": " + h.failure().detail;
            }
            break;
        }
        auto& handshake = h.value();
        const auto chosen = std::find(remaining.begin(), remaining.end(), handshake.cipher.name);
        if (chosen == remaining.end()) break;  // picked a suite we did not offer: stop here
        remaining.erase(chosen);
        if (!scan.certificate) scan.certificate = handshake.certificate;
        if (!scan.result.secure_renegotiation)
            scan.result.secure_renegotiation = handshake.secure_renegotiation;
        scan.result.ciphers.push_back(std::move(handshake.cipher));
    }
    scan.result.accepted = !scan.result.ciphers.empty();
    if (scan.result.ciphers.size() >= 2 && !budget.exhausted()) {
        // Offer the first two picks swapped: a host that follows the client's order now picks
        // the second, one with its own order still picks the first.
        const auto& ciphers = scan.result.ciphers;
        auto h = attempt(ep, ctx, v, {ciphers[1].name, ciphers[0].name}, budget);
        if (h.ok()) {
            scan.result.order = h.value().cipher.name == ciphers[0].name ? CipherOrder::server
                                                                         : CipherOrder::client;
        }
    }
    return scan;
}

}  // namespace

CipherFacts cipher_facts(const SSL_CIPHER* cipher) {
    CipherFacts f;
    if (!cipher) return f;
    f.name = SSL_CIPHER_get_name(cipher);
    f.iana = SSL_CIPHER_standard_name(cipher) ? SSL_CIPHER_standard_name(cipher) : "";
    f.bits = SSL_CIPHER_get_bits(cipher, nullptr);
    switch (SSL_CIPHER_get_kx_nid(cipher)) {
        case NID_kx_rsa:
            f.key_exchange = "RSA";
            break;
        case NID_kx_ecdhe:
            f.key_exchange = "ECDH";
            break;
        case NID_kx_dhe:
            f.key_exchange = "DH";
            break;
        case NID_kx_any:
            f.key_exchange = "any";
            break;
        default:
            f.key_exchange = OBJ_nid2sn(SSL_CIPHER_get_kx_nid(cipher));
            break;
    }
    f.forward_secrecy =
        f.key_exchange == "ECDH" || f.key_exchange == "DH" || f.key_exchange == "any";
    f.aead = SSL_CIPHER_is_aead(cipher) == 1;
    return f;
}

TlsFindings scan_tls(const TlsEndpoint& endpoint, Budget& budget) {
    TlsFindings out;
    out.via = endpoint.x224_request;
    CtxPtr ctx = scanning_context();
    std::array<VersionScan, kVersions.size()> scans;
    {
        std::vector<std::jthread> workers;
        for (std::size_t i = 0; i < kVersions.size(); ++i) {
            workers.emplace_back([&, i] {
                scans[i] = scan_version(endpoint, ctx.get(), kVersions[i], budget);
                ERR_clear_error();  // the error queue is per thread; leave nothing behind
            });
        }
    }
    // The certificate of the newest version: the one a modern client (and the gateway) sees.
    for (auto it = scans.rbegin(); it != scans.rend(); ++it) {
        if (it->certificate) {
            out.certificate = it->certificate;
            break;
        }
    }
    for (auto& s : scans) out.versions.push_back(std::move(s.result));
    return out;
}

ProfileCheck check_profile(const TlsEndpoint& endpoint, const config::BackendTls& policy,
                           Budget& budget) {
    tls::Context ctx(nullptr);
    try {
        ctx = tls::make_backend_context(policy);
    } catch (const std::exception& e) {
        return {false, e.what()};
    }
    auto connection = Connection::open(endpoint.ip, endpoint.port, budget);
    if (!connection.ok()) return {false, connection.failure().detail};
    auto answer = connection.value().exchange(connection_request(rdp::protocol::ssl), kMaxConfirm);
    if (!answer.ok()) return {false, answer.failure().detail};
    auto tls = connection.value().start_tls(ctx.get(), [&](SSL* ssl) {
        if (!policy.sni.empty()) SSL_set_tlsext_host_name(ssl, policy.sni.c_str());
    });
    if (!tls.ok()) {
        return {false,
                std::string(rdp::describe(tls.failure().cause).id) + ": " + tls.failure().detail};
    }
    const auto facts = tls::inspect(tls.value());
    if (policy.verify == config::CertVerify::pin &&
        !(facts.peer && tls::pin_matches(policy.pin_sha256, facts.peer->sha256))) {
        return {false, "host_certificate_pin_mismatch: the host presented another certificate"};
    }
    return {true, facts.version + " with " + facts.cipher};
}

}  // namespace rdpbridge::probe

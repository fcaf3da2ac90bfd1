#include "proxy/probe/rdp_security_scan.hpp"

#include <array>

#include "proxy/probe/cert_facts.hpp"
#include "proxy/probe/layers.hpp"
#include "proxy/probe/pdus.hpp"
#include "rdp/host_identity.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::probe {

namespace {

namespace em = rdp::encryption_method;
constexpr std::size_t kMaxConfirm = 512;
constexpr std::size_t kMaxConnectResponse = 0xFFFF;  // X.509 chains make it a few KB

constexpr std::array<uint32_t, 4> kMethods{em::bits40, em::bits56, em::bits128, em::fips};
constexpr uint32_t kAllMethods = em::bits40 | em::bits56 | em::bits128 | em::fips;

RdpCertificateFacts certificate_of(const rdp::ServerCertificate& c) {
    RdpCertificateFacts f;
    f.kind = c.kind;
    f.temporary = c.temporary;
    f.key_bits = c.key.bits;
    f.exponent = c.key.exponent;
    f.signature_valid = c.signature_valid;
    f.chain_length = c.x509_chain.size();
    // Without SHA-256 (OpenSSL failing) the scan still reports the rest of the certificate.
    if (!c.key.modulus.empty()) {
        if (auto sha256 = rdp::rdp_key_sha256(c.key)) f.key_sha256 = std::move(*sha256);
    }
    if (!c.x509_chain.empty()) f.x509_leaf = certificate_facts(c.x509_chain.back());
    return f;
}

MethodResult refused(uint32_t offered, std::string detail) {
    MethodResult m;
    m.offered = offered;
    m.outcome = MethodOutcome::refused;
    m.detail = std::move(detail);
    return m;
}

// `silent` reports a host that took the Connect Initial and never answered it.
MethodResult probe_method(const std::string& ip, uint16_t port, uint32_t offered, Budget& budget,
                          RdpSecurityFindings& findings, bool& silent) {
    MethodResult error;
    error.offered = offered;
    auto connection = Connection::open(ip, port, budget);
    if (!connection.ok()) {
        error.detail = connection.failure().detail;
        return error;
    }
    auto confirm = connection.value().exchange(connection_request(rdp::protocol::rdp), kMaxConfirm);
    if (!confirm.ok()) {
        error.detail = "X.224: " + confirm.failure().detail;
        return error;
    }
    const auto layer = interpret_frame({"RDP", rdp::protocol::rdp}, confirm.value());
    if (!(layer.answer == LayerAnswer::no_negotiation ||
          (layer.answer == LayerAnswer::selected && layer.selected == rdp::protocol::rdp))) {
        error.detail = "X.224: the host no longer selects Standard RDP Security";
        return error;
    }
    auto initial = connect_initial(offered, rdp::protocol::rdp);
    if (!initial) {
        error.detail = initial.error().message();
        return error;
    }
    auto response = connection.value().exchange(*initial, kMaxConnectResponse);
    if (!response.ok()) {
        const auto& f = response.failure();
        if (f.cause == rdp::Cause::host_closed || f.cause == rdp::Cause::host_reset)
            return refused(offered, "closed the connection after the Connect Initial");
        error.detail = "MCS: " + f.detail;
        silent = f.cause == rdp::Cause::host_silent;
        return error;
    }
    return interpret_connect_response(offered, response.value(), findings);
}

}  // namespace

MethodResult interpret_connect_response(uint32_t offered, rdp::ByteView frame,
                                        RdpSecurityFindings& findings) {
    MethodResult m;
    m.offered = offered;
    auto payload = rdp::unwrap_x224_data(frame);
    if (!payload) {
        m.detail = "MCS: " + payload.error().message();
        return m;
    }
    if (rdp::mcs::is_disconnect_ultimatum(*payload)) {
        return refused(offered, "answered with an MCS Disconnect Provider Ultimatum");
    }
    auto pdu = rdp::mcs::decode_connect_response(*payload);
    if (!pdu) {
        m.detail = "MCS: " + pdu.error().message();
        return m;
    }
    if (const auto* core = pdu->conference.find(rdp::gcc::block::sc_core);
        core && !findings.server_version) {
        findings.server_version = rdp::gcc::server_version(*core);
    }
    const auto* block = pdu->conference.find(rdp::gcc::block::sc_security);
    if (!block) {
        m.detail = "the Connect Response has no SC_SECURITY block";
        return m;
    }
    auto security = rdp::decode_server_security(*block);
    if (!security) {
        m.detail = "SC_SECURITY: " + security.error().message();
        return m;
    }
    m.selected = security->method;
    m.level = security->level;
    if (security->method != rdp::encryption_method::none && (security->method & offered) == 0) {
        m.outcome = MethodOutcome::overridden;
        m.detail = "host selected " + rdp::encryption_methods_to_string(security->method) +
                   ", which was not offered";
    } else {
        m.outcome = MethodOutcome::accepted;
    }
    if (security->certificate && !findings.certificate)
        findings.certificate = certificate_of(*security->certificate);
    return m;
}

RdpSecurityFindings scan_rdp_security(const std::string& ip, uint16_t port, Budget& budget) {
    RdpSecurityFindings findings;
    bool silent = false;
    for (uint32_t method : kMethods) {
        findings.methods.push_back(probe_method(ip, port, method, budget, findings, silent));
        // A host silent after a Connect Initial would make every further offer cost a whole
        // step timeout, and teach nothing new.
        if (silent) return findings;
    }
    findings.all = probe_method(ip, port, kAllMethods, budget, findings, silent);
    return findings;
}

}  // namespace rdpbridge::probe

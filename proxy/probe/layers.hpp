// Security layers: one X.224 Connection Request per protocol set, one connection each, and what
// the host answered. The first answer also decides whether there is an RDP host at all.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "proxy/probe/findings.hpp"
#include "proxy/probe/wire.hpp"

namespace rdpbridge::probe {

struct LayerRequest {
    const char* name;
    uint32_t protocols;
};

// RDP, SSL, HYBRID (2|1), HYBRID_EX (8|2|1), RDSTLS, and everything at once, in that order.
std::span<const LayerRequest> layer_requests();

// The pure halves of the scan: what one answer (a TPKT frame, or how the step failed) means.
LayerResult interpret_frame(const LayerRequest& request, rdp::ByteView frame);
LayerResult interpret_failure(const LayerRequest& request, const WireFailure& failure);

// One line about bytes that are not RDP: "an HTTP server (\"HTTP/1.0 400 Bad request\")".
std::string describe_foreign_bytes(rdp::ByteView bytes);

struct LayerScan {
    Reach reach = Reach::rdp;
    std::optional<Unreachable> unreachable;
    std::vector<LayerResult> results;
};

// Stops at the first connection when the host is unreachable, answers with something that is
// not RDP, or stays silent: more attempts would only multiply the same timeout.
LayerScan scan_layers(const std::string& ip, uint16_t port, Budget& budget);

// Derived facts the later scans and the verdict use.
const LayerResult* find_layer(const std::vector<LayerResult>& layers, uint32_t requested);
// The request whose answer selects a TLS-based protocol (SSL preferred over HYBRID, HYBRID_EX).
std::optional<uint32_t> tls_request(const std::vector<LayerResult>& layers);
// True when a Standard RDP Security connection can be opened (RDP selected, or no negotiation).
bool standard_rdp_offered(const std::vector<LayerResult>& layers);
NlaFindings nla_findings(const std::vector<LayerResult>& layers);

}  // namespace rdpbridge::probe

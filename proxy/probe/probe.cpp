#include "proxy/probe/probe.hpp"

#include <algorithm>

#include "proxy/probe/layers.hpp"
#include "proxy/probe/rdp_security_scan.hpp"
#include "proxy/probe/tls_scan.hpp"
#include "proxy/probe/toml_block.hpp"
#include "proxy/probe/verdict.hpp"

namespace rdpbridge::probe {

namespace {

using Clock = std::chrono::steady_clock;

// The recommendation's first guess at the security level is confirmed by a handshake made
// exactly as the gateway would; a host that needs level 0 gets it, with the reason.
void verify(Findings& f, const TlsEndpoint& endpoint, Budget& budget) {
    auto& r = f.verdict.recommendation;
    if (!r.usable || !r.has_tls) return;
    auto check = check_profile(endpoint, r.backend.tls, budget);
    if (!check.ok && r.backend.tls.security_level != 0) {
        auto relaxed = with_security_level(r, 0);
        auto again = check_profile(endpoint, relaxed.backend.tls, budget);
        if (again.ok) {
            r = std::move(relaxed);
            check = std::move(again);
        }
    }
    r.verified = check.ok;
    r.verification_detail = check.detail;
    f.verdict.toml = toml_block(f, r);
}

// Other ISO transport services (an S7 PLC on port 102) answer the X.224 request with a plain
// Connection Confirm, which looks like a pre-RDP-5.2 host until MCS gets no answer.
bool speaks_mcs(const Findings& f) {
    const bool rdp_negotiation = std::any_of(f.layers.begin(), f.layers.end(), [](const auto& l) {
        return l.answer == LayerAnswer::selected || l.answer == LayerAnswer::failure;
    });
    if (rdp_negotiation || !f.rdp_security) return true;
    const auto& r = *f.rdp_security;
    if (r.server_version) return true;
    const auto answered = [](const MethodResult& m) {
        return m.outcome == MethodOutcome::accepted || m.outcome == MethodOutcome::overridden;
    };
    return std::any_of(r.methods.begin(), r.methods.end(), answered) || (r.all && answered(*r.all));
}

}  // namespace

Findings run_probe(const Target& target, Millis step_timeout) {
    const auto started = Clock::now();
    Findings f;
    f.target = target;
    Budget budget(step_timeout, std::max(kMinTotal, step_timeout * kStepsPerProbe));
    auto finish = [&] {
        f.connections = budget.connections();
        f.budget_exhausted = budget.exhausted();
        f.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
        return f;
    };

    auto addresses = resolve(target.host, step_timeout);
    if (!addresses.ok()) {
        f.reach = Reach::unreachable;
        f.unreachable = Unreachable{addresses.failure().cause, addresses.failure().detail};
        return finish();
    }
    f.address = addresses.value().front();

    auto layers = scan_layers(f.address, target.port, budget);
    f.reach = layers.reach;
    f.unreachable = layers.unreachable;
    f.layers = std::move(layers.results);
    if (f.reach != Reach::rdp) return finish();

    f.nla = nla_findings(f.layers);
    const TlsEndpoint endpoint{f.address, target.port, rdp::protocol::ssl, target.sni};
    if (auto via = tls_request(f.layers)) {
        auto tls_endpoint = endpoint;
        tls_endpoint.x224_request = *via;
        f.tls = scan_tls(tls_endpoint, budget);
    }
    if (standard_rdp_offered(f.layers))
        f.rdp_security = scan_rdp_security(f.address, target.port, budget);
    if (!speaks_mcs(f)) {
        f.reach = Reach::not_rdp;
        f.unreachable = Unreachable{rdp::Cause::host_mcs_malformed,
                                    "confirms X.224 connections but never answers an MCS Connect "
                                    "Initial: an ISO transport service that is not RDP"};
        return finish();
    }
    f.verdict = judge(f);
    verify(f, endpoint, budget);
    return finish();
}

}  // namespace rdpbridge::probe

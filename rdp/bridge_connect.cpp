// The MCS connect exchange, translated between the legs: the client's Connect Initial gets the
// gateway's choice of protocol towards the host (and the host's allowed methods), the host's
// Connect Response the client's own requested protocols and the TLS form of SC_SECURITY.
#include <algorithm>
#include <cctype>

#include "rdp/bridge.hpp"
#include "rdp/bridge_internal.hpp"
#include "rdp/mcs.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::rdp {

using bridge_detail::append;

namespace {

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
}

}  // namespace

std::optional<Failure> Bridge::connect_initial(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::client_mcs_malformed, payload.error().message()};
    auto ci = mcs::decode_connect_initial(*payload);
    if (!ci) return Failure{Cause::client_mcs_malformed, ci.error().message()};
    if (const auto* net = ci->conference.find(gcc::block::cs_net)) {
        auto names = gcc::channel_names(*net);
        if (!names) return Failure{Cause::client_mcs_malformed, names.error().message()};
        facts_.emplace_back("client_channels", join(*names));
        const bool t120 = std::any_of(names->begin(), names->end(), [](const std::string& n) {
            return same_channel_name(n, "MS_T120");
        });
        if (t120 && params_.refuse_ms_t120) {
            return Failure{
                Cause::client_requested_ms_t120,
                "CS_NET asks for static channel MS_T120 (channels: " + join(*names) + ")"};
        }
    }
    auto* core = ci->conference.find(gcc::block::cs_core);
    if (!core) return Failure{Cause::client_mcs_malformed, "gcc.cs_core: block missing"};
    bool changed = false;
    if (auto* net = ci->conference.find(gcc::block::cs_net); net && filter_) {
        auto removed = filter_->client_network(*net, facts_);
        if (!removed) return Failure{Cause::client_mcs_malformed, removed.error().message()};
        changed = *removed;
    }
    // The client wrote what the gateway selected; the host checks it against its own choice.
    const auto seen = gcc::server_selected_protocol(*core);
    if (seen && *seen != params_.back_selected) {
        gcc::set_server_selected_protocol(*core, params_.back_selected);
        facts_.emplace_back("rewrote", "CS_CORE.serverSelectedProtocol " +
                                           protocols_to_string(*seen) + " -> " +
                                           protocols_to_string(params_.back_selected));
        changed = true;
    }
    if (params_.back_selected == protocol::rdp) {
        // Offer the host exactly the methods its profile allows; a TLS client offers anything.
        Bytes body(8, 0);
        store_u32le(body.data(), params_.allowed_methods);
        if (auto* security = ci->conference.find(gcc::block::cs_security))
            security->body = body;
        else
            ci->conference.blocks.push_back({gcc::block::cs_security, body});
        changed = true;
    }
    client_connected_ = true;
    if (!changed) {
        append(out, pdu);
    } else {
        auto encoded = mcs::encode(*ci);
        if (!encoded) return Failure{Cause::client_mcs_malformed, encoded.error().message()};
        append(out, *encoded);
    }
    if (params_.back_selected != protocol::rdp) client_step_aside();
    return std::nullopt;
}

std::optional<Failure> Bridge::connect_response(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::host_mcs_malformed, payload.error().message()};
    auto cr = mcs::decode_connect_response(*payload);
    if (!cr) return Failure{Cause::host_mcs_malformed, cr.error().message()};
    auto* core = cr->conference.find(gcc::block::sc_core);
    if (!core) return Failure{Cause::host_mcs_malformed, "gcc.sc_core: block missing"};
    host_connected_ = true;
    bool changed = false;
    // The host echoes what the gateway requested; clients such as mstsc compare it with what
    // they requested themselves, as a downgrade check.
    const auto seen = gcc::client_requested_protocols(*core);
    if (seen && *seen != params_.client_requested) {
        gcc::set_client_requested_protocols(*core, params_.client_requested);
        facts_.emplace_back("rewrote", "SC_CORE.clientRequestedProtocols " +
                                           protocols_to_string(*seen) + " -> " +
                                           protocols_to_string(params_.client_requested));
        changed = true;
    }
    if (filter_ && filter_->reads_client_stream()) {
        auto* net = cr->conference.find(gcc::block::sc_net);
        if (!net) return Failure{Cause::host_mcs_malformed, "gcc.sc_net: block missing"};
        auto restored = filter_->server_network(*net);
        if (!restored) return Failure{Cause::host_mcs_malformed, restored.error().message()};
        changed = changed || *restored;
    }
    if (params_.back_selected == protocol::rdp) {
        auto* block = cr->conference.find(gcc::block::sc_security);
        if (!block) return Failure{Cause::host_mcs_malformed, "gcc.sc_security: block missing"};
        auto security = decode_server_security(*block);
        if (!security) return Failure{Cause::host_mcs_malformed, security.error().message()};
        if (auto refused = accept_server_security(*security)) return refused;
        *block = tls_server_security();
        changed = true;
    }
    if (!security_) facts_.emplace_back("established", "");
    if (!changed) {
        append(out, pdu);
    } else {
        auto encoded = mcs::encode(*cr);
        if (!encoded) return Failure{Cause::host_mcs_malformed, encoded.error().message()};
        append(out, *encoded);
    }
    if (params_.back_selected != protocol::rdp) host_step_aside();
    return std::nullopt;
}

}  // namespace rdpbridge::rdp

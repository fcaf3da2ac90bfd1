#include "rdp/bridge.hpp"

#include "rdp/mcs.hpp"
#include "rdp/x224.hpp"

namespace rdpbridge::rdp {

namespace {

// Runs `translate` on the first complete PDU of a direction, then hands over the rest of the
// buffered bytes untouched.
template <class Translate>
std::optional<Failure> first_pdu_then_pass(Framer& framer, bool& done, ByteView in, Bytes& out,
                                           Cause malformed, Translate translate) {
    if (done) {
        out.insert(out.end(), in.begin(), in.end());
        return std::nullopt;
    }
    framer.feed(in);
    auto pdu = framer.next();
    if (!pdu) return Failure{malformed, pdu.error().message()};
    if (!*pdu) return std::nullopt;
    if (auto failure = translate(**pdu, out)) return failure;
    done = true;
    Bytes rest = framer.take_rest();
    out.insert(out.end(), rest.begin(), rest.end());
    return std::nullopt;
}

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s;
}

}  // namespace

Bridge::Bridge(const BridgeParams& params)
    : params_(params), client_framer_(params.max_pdu), host_framer_(params.max_pdu) {}

std::optional<Failure> Bridge::from_client(ByteView in, Bytes& to_host) {
    return first_pdu_then_pass(client_framer_, client_done_, in, to_host,
                               Cause::client_mcs_malformed, [this](const Bytes& pdu, Bytes& out) {
                                   return translate_connect_initial(pdu, out);
                               });
}

std::optional<Failure> Bridge::from_host(ByteView in, Bytes& to_client) {
    return first_pdu_then_pass(host_framer_, host_done_, in, to_client, Cause::host_mcs_malformed,
                               [this](const Bytes& pdu, Bytes& out) {
                                   return translate_connect_response(pdu, out);
                               });
}

std::optional<Failure> Bridge::translate_connect_initial(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::client_mcs_malformed, payload.error().message()};
    auto ci = mcs::decode_connect_initial(*payload);
    if (!ci) return Failure{Cause::client_mcs_malformed, ci.error().message()};
    if (const auto* net = ci->conference.find(gcc::block::cs_net)) {
        if (auto names = gcc::channel_names(*net)) facts_.emplace_back("client_channels", join(*names));
    }
    auto* core = ci->conference.find(gcc::block::cs_core);
    if (!core) return Failure{Cause::client_mcs_malformed, "gcc.cs_core: block missing"};
    // The client wrote what the gateway selected; the host checks it against what it selected.
    const auto seen = gcc::server_selected_protocol(*core);
    if (!seen || *seen == params_.back_selected) {
        out.insert(out.end(), pdu.begin(), pdu.end());
        return std::nullopt;
    }
    gcc::set_server_selected_protocol(*core, params_.back_selected);
    auto encoded = mcs::encode(*ci);
    if (!encoded) return Failure{Cause::client_mcs_malformed, encoded.error().message()};
    facts_.emplace_back("rewrote", "CS_CORE.serverSelectedProtocol " + protocols_to_string(*seen) +
                                       " -> " + protocols_to_string(params_.back_selected));
    out.insert(out.end(), encoded->begin(), encoded->end());
    return std::nullopt;
}

std::optional<Failure> Bridge::translate_connect_response(const Bytes& pdu, Bytes& out) {
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return Failure{Cause::host_mcs_malformed, payload.error().message()};
    auto cr = mcs::decode_connect_response(*payload);
    if (!cr) return Failure{Cause::host_mcs_malformed, cr.error().message()};
    auto* core = cr->conference.find(gcc::block::sc_core);
    if (!core) return Failure{Cause::host_mcs_malformed, "gcc.sc_core: block missing"};
    // The host echoes what the gateway requested; clients such as mstsc compare it with what
    // they requested themselves, as a downgrade check.
    const auto seen = gcc::client_requested_protocols(*core);
    if (!seen || *seen == params_.client_requested) {
        out.insert(out.end(), pdu.begin(), pdu.end());
        return std::nullopt;
    }
    gcc::set_client_requested_protocols(*core, params_.client_requested);
    auto encoded = mcs::encode(*cr);
    if (!encoded) return Failure{Cause::host_mcs_malformed, encoded.error().message()};
    facts_.emplace_back("rewrote", "SC_CORE.clientRequestedProtocols " +
                                       protocols_to_string(*seen) + " -> " +
                                       protocols_to_string(params_.client_requested));
    out.insert(out.end(), encoded->begin(), encoded->end());
    return std::nullopt;
}

std::vector<Fact> Bridge::take_facts() {
    std::vector<Fact> f;
    f.swap(facts_);
    return f;
}

}  // namespace rdpbridge::rdp

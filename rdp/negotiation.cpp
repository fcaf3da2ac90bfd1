#include "rdp/negotiation.hpp"

#include <bit>

namespace rdpbridge::rdp {

namespace {

Cause cause_for(NegFailureCode code) {
    switch (code) {
        case NegFailureCode::ssl_required_by_server:
            return Cause::host_ssl_required;
        case NegFailureCode::ssl_not_allowed_by_server:
            return Cause::host_ssl_not_allowed;
        case NegFailureCode::ssl_cert_not_on_server:
            return Cause::host_ssl_cert_not_on_server;
        case NegFailureCode::inconsistent_flags:
            return Cause::host_inconsistent_flags;
        case NegFailureCode::hybrid_required_by_server:
            return Cause::host_hybrid_required;
        case NegFailureCode::ssl_with_user_auth_required_by_server:
            return Cause::host_ssl_with_user_auth_required;
    }
    return Cause::host_unknown_negotiation_failure;
}

uint32_t requested(const ConnectionRequest& r) {
    return r.negotiation ? r.negotiation->requested_protocols : protocol::rdp;
}

}  // namespace

std::variant<uint32_t, Refusal> select_front_protocol(const ConnectionRequest& client,
                                                      FrontNla nla) {
    const uint32_t offered = requested(client);
    if (nla != FrontNla::off) {
        if (offered & protocol::hybrid_ex) return protocol::hybrid_ex;
        if (offered & protocol::hybrid) return protocol::hybrid;
        if (nla == FrontNla::require) {
            return Refusal{Cause::client_offers_no_nla,
                           "client requested " + protocols_to_string(offered) +
                               "; the listener requires NLA (PROTOCOL_HYBRID)",
                           NegFailureCode::hybrid_required_by_server};
        }
    }
    // HYBRID and HYBRID_EX imply TLS underneath, but a client that sets them without SSL still
    // accepts a plain TLS selection: mstsc and FreeRDP both do.
    if (offered & (protocol::ssl | protocol::hybrid | protocol::hybrid_ex)) return protocol::ssl;
    return Refusal{
        Cause::client_offers_no_tls,
        "client requested " + protocols_to_string(offered) + "; the front side requires TLS",
        NegFailureCode::ssl_required_by_server};
}

ConnectionRequest backend_request(const ConnectionRequest& client, BackSecurity security,
                                  bool offer_hybrid) {
    ConnectionRequest req;
    req.mstshash = client.mstshash;
    req.routing_token = client.routing_token;
    uint32_t offer = security == BackSecurity::rdp ? protocol::rdp : protocol::ssl;
    if (offer_hybrid && security != BackSecurity::rdp) offer |= protocol::hybrid;
    req.negotiation = NegotiationRequest{0, offer};
    return req;
}

namespace {

// A TLS offer answered with Standard RDP Security: refused when the host has shown TLS before,
// or when nothing could verify its RDP key; otherwise nullopt (the fall-back may go ahead).
std::optional<Refusal> check_rdp_answer(const HostHistory& history, uint32_t offered,
                                        const std::string& answer) {
    if (history.seen.tls) {
        return Refusal{Cause::host_security_downgrade,
                       "host was seen with " + to_string(history.seen) + "; offered " +
                           protocols_to_string(offered) + ", it now answers " + answer,
                       std::nullopt};
    }
    if (history.rdp_key_unverifiable) {
        return Refusal{Cause::host_rdp_key_not_pinned,
                       "offered " + protocols_to_string(offered) + ", host answered " + answer +
                           "; verify is pin or ca and [backend.tls] rdp_key_sha256 is not set",
                       std::nullopt};
    }
    return std::nullopt;
}

}  // namespace

std::variant<BackendAgreement, Refusal> interpret_backend_confirm(const ConnectionRequest& sent,
                                                                  const ConnectionConfirm& answer,
                                                                  BackSecurity security,
                                                                  const HostHistory& history) {
    const uint32_t offered = requested(sent);
    const bool fall_back = security == BackSecurity::automatic;
    const bool offered_tls = offered != protocol::rdp;
    if (std::holds_alternative<std::monostate>(answer.negotiation)) {
        if (offered_tls && (fall_back || history.seen.tls)) {
            if (auto refusal = check_rdp_answer(history, offered, "without negotiation data"))
                return *refusal;
        }
        if (!offered_tls || fall_back) return BackendAgreement{protocol::rdp, 0};
        return Refusal{Cause::host_predates_negotiation,
                       "host answered " + protocols_to_string(offered) +
                           " with a Connection Confirm that has no negotiation data",
                       NegFailureCode::ssl_not_allowed_by_server};
    }
    if (auto* failure = std::get_if<NegotiationFailure>(&answer.negotiation)) {
        const bool refuses_tls = failure->code == NegFailureCode::ssl_not_allowed_by_server;
        if (offered_tls && refuses_tls && (fall_back || history.seen.tls)) {
            if (auto refusal = check_rdp_answer(history, offered,
                                                "RDP_NEG_FAILURE " + to_string(failure->code)))
                return *refusal;
        }
        Refusal r{cause_for(failure->code),
                  "host answered " + protocols_to_string(offered) + " with RDP_NEG_FAILURE " +
                      to_string(failure->code),
                  failure->code};
        r.retry_with_standard_security = fall_back && refuses_tls;
        return r;
    }
    const auto& rsp = std::get<NegotiationResponse>(answer.negotiation);
    if (rsp.selected_protocol == protocol::rdp && offered_tls) {
        if (fall_back || history.seen.tls) {
            if (auto refusal = check_rdp_answer(history, offered, "PROTOCOL_RDP")) return *refusal;
        }
        if (fall_back) return BackendAgreement{protocol::rdp, rsp.flags};
        // Hosts from the RDP 5.2 era answer a TLS offer this way instead of with a failure.
        return Refusal{Cause::host_ssl_not_allowed,
                       "offered " + protocols_to_string(offered) +
                           ", host selected Standard RDP Security (PROTOCOL_RDP)",
                       NegFailureCode::ssl_not_allowed_by_server};
    }
    if ((rsp.selected_protocol & ~offered) != 0 || std::popcount(rsp.selected_protocol) > 1) {
        return Refusal{Cause::host_selected_unoffered,
                       "offered " + protocols_to_string(offered) + ", host selected " +
                           protocols_to_string(rsp.selected_protocol),
                       std::nullopt};
    }
    const uint32_t nla = protocol::hybrid | protocol::hybrid_ex;
    if (history.seen.nla && (offered & nla) && !(rsp.selected_protocol & nla)) {
        return Refusal{Cause::host_security_downgrade,
                       "host was seen with " + to_string(history.seen) + "; offered " +
                           protocols_to_string(offered) + ", it now selects " +
                           protocols_to_string(rsp.selected_protocol) + " (no NLA)",
                       std::nullopt};
    }
    return BackendAgreement{rsp.selected_protocol, rsp.flags};
}

ConnectionConfirm front_confirm(uint32_t front_selected, const BackendAgreement& back) {
    // Extended client data and the graphics pipeline are end-to-end features the client may use
    // only if the host announced them. Restricted-admin and redirected-authentication belong to
    // a CredSSP exchange the front side does not run.
    constexpr uint8_t kPassThrough =
        neg_rsp_flags::extended_client_data_supported | neg_rsp_flags::dynvc_gfx_protocol_supported;
    return ConnectionConfirm{
        NegotiationResponse{uint8_t(back.flags & kPassThrough), front_selected}};
}

}  // namespace rdpbridge::rdp

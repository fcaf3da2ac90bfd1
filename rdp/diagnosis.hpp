// The diagnosis vocabulary: where a handshake failed (Stage) and why (Cause), each cause with
// the words an admin needs — what happened, what the client showed, and the fix. This table is
// the single source for the handshake log, `rdpbridge logs` and docs/diagnosis.md.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace rdpbridge::rdp {

enum class Stage : uint8_t {
    client_transport,
    proxy_header,  // the PROXY protocol header a load balancer sends first
    client_x224,
    routing,
    backend_resolve,
    backend_connect,
    backend_negotiation,
    front_tls,
    front_nla,  // CredSSP with the client, the gateway as server
    backend_tls,
    backend_nla,  // CredSSP with the host, the gateway as client
    mcs_gcc,
    security_exchange,
    licensing,
    capability_exchange,
    active_session,
};
inline constexpr std::size_t kStageCount = 16;
std::string_view to_string(Stage s);

enum class Cause : uint16_t {
    // The client side before TLS.
    client_closed,
    client_reset,
    client_silent,
    client_spoke_tls,
    client_spoke_http,
    client_not_rdp,
    x224_request_too_large,
    x224_request_malformed,
    client_offers_no_tls,
    client_offers_no_nla,
    // Routing and the path to the host.
    no_route,
    dns_not_found,
    dns_failed,
    connection_refused,
    connection_timed_out,
    host_unreachable,
    network_unreachable,
    connect_failed,
    // The host's answer to our X.224 request.
    host_closed,
    host_reset,
    host_silent,
    host_confirm_malformed,
    host_ssl_required,
    host_ssl_not_allowed,
    host_ssl_cert_not_on_server,
    host_inconsistent_flags,
    host_hybrid_required,
    host_ssl_with_user_auth_required,
    host_unknown_negotiation_failure,
    host_predates_negotiation,
    host_selected_unoffered,
    // TLS towards the client.
    front_tls_version_too_old,
    front_no_shared_cipher,
    client_rejected_certificate,
    front_tls_failed,
    // TLS towards the host.
    host_tls_version_mismatch,
    host_no_shared_cipher,
    host_requires_insecure_renegotiation,
    host_certificate_expired,
    host_certificate_not_yet_valid,
    host_certificate_untrusted,
    host_certificate_pin_mismatch,
    host_certificate_name_mismatch,
    host_tls_failed,
    // The host's identity (known hosts, pins) and its security layers over time.
    host_identity_changed,
    host_identity_unknown,
    host_security_downgrade,
    host_rdp_key_not_pinned,
    host_identity_unverified,
    // NLA (CredSSP) with the client.
    client_nla_failed,
    client_nla_binding_mismatch,
    client_delegated_no_password,
    client_nla_malformed,
    // NLA (CredSSP) with the host.
    host_nla_failed,
    host_nla_logon_failure,
    host_nla_binding_mismatch,
    host_nla_access_denied,
    host_nla_malformed,
    // MCS connect and the bridged session.
    client_mcs_malformed,
    host_mcs_malformed,
    client_requested_ms_t120,
    host_selected_unoffered_method,
    host_mac_mismatch,
    host_set_error_info,
    // The gateway itself.
    rate_limited,
    limit_handshakes,
    limit_sessions,
    limit_sessions_per_source,
    limit_handshakes_per_source,
    source_not_allowed,
    proxy_source_not_allowed,
    proxy_header_invalid,
    gateway_shutting_down,
    internal_error,
};

// A diagnosed failure: the cause plus what was seen (never secrets).
struct Failure {
    Cause cause;
    std::string detail;
};

struct CauseInfo {
    Cause cause;
    std::string_view id;           // stable snake_case name used in logs
    std::string_view explanation;  // one line: what happened
    std::string_view mstsc;        // what mstsc shows (OnDisconnected reason / extended reason)
    std::string_view freerdp;      // what FreeRDP reports
    std::string_view fix;          // a config key of ours with its value, or the action on the host
};

const CauseInfo& describe(Cause c);
std::span<const CauseInfo> all_causes();

}  // namespace rdpbridge::rdp

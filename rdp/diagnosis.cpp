#include "rdp/diagnosis.hpp"

#include <array>

namespace rdpbridge::rdp {

namespace {

// What every client sees when the proxy closes the TCP connection during the handshake.
constexpr std::string_view kSocketClosed = "0x904 (socket closed); extended reason 0 (none)";
constexpr std::string_view kTransportFailed = "ERRCONNECT_CONNECT_TRANSPORT_FAILED";
constexpr std::string_view kNegoFailed = "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED";
constexpr std::string_view kTlsFailed = "ERRCONNECT_TLS_CONNECT_FAILED";

using C = Cause;

constexpr std::array kCauses = std::to_array<CauseInfo>({
    {C::client_closed, "client_closed",
     "The client closed the connection before the handshake finished.",
     "(the client chose to leave; nothing is shown)", "(none)",
     "Nothing to fix on the gateway if this is a port scanner or a health check; otherwise "
     "read the client's own log for why it gave up at this stage."},
    {C::client_reset, "client_reset", "The client reset the TCP connection (RST).",
     "(the client chose to leave)", "(none)",
     "Look for a firewall or load balancer between client and gateway that resets idle or "
     "unknown flows."},
    {C::client_silent, "client_silent",
     "The client stopped sending before the handshake finished: what the stage needs from it "
     "did not come within handshake_timeout.",
     "(nothing, or 0x108 connection timed out on a very slow link)", "ERRCONNECT_CONNECT_TIMEOUT",
     "At client_x224 usually a port scanner or a half-open probe. Later, a client waiting on "
     "its user (a certificate prompt after the TLS handshake) or a very slow link: raise "
     "[limits] handshake_timeout (e.g. \"30s\")."},
    {C::client_spoke_tls, "client_spoke_tls",
     "The client started TLS straight away, without the RDP X.224 Connection Request.",
     "(not an RDP client)", "(not an RDP client)",
     "Point only RDP clients at this port. An HTTPS client or an RD Gateway (port 443) "
     "client cannot use it."},
    {C::client_spoke_http, "client_spoke_http",
     "The client sent an HTTP request (browser, RD Gateway/RDG, or health check).",
     "(not an RDP client)", "(not an RDP client)",
     "Point only RDP clients at this port; configure health checks as plain TCP checks."},
    {C::client_not_rdp, "client_not_rdp",
     "The client's first bytes are neither a TPKT header nor a TLS or HTTP request.",
     "(not an RDP client)", "(not an RDP client)",
     "Something that does not speak RDP is connecting here (scanner, wrong port in a client "
     "profile). Check the source address."},
    {C::x224_request_too_large, "x224_request_too_large",
     "The client announced a Connection Request larger than the configured bound.", kSocketClosed,
     kTransportFailed,
     "Real requests are under 200 bytes; if a broker sends long routing tokens raise "
     "[limits] max_x224_request."},
    {C::x224_request_malformed, "x224_request_malformed",
     "The client's X.224 Connection Request could not be decoded (detail names the field).",
     kSocketClosed, kTransportFailed,
     "Update the client, or capture the request (tshark -i lo port 3389) and report it."},
    {C::client_offers_no_tls, "client_offers_no_tls",
     "The client offered only Standard RDP Security; the gateway's front side requires TLS.",
     "\"This computer can't connect to the remote computer\" (server requires TLS)", kNegoFailed,
     "Let the client negotiate TLS (mstsc does by default; FreeRDP: /sec:tls; rdesktop "
     "cannot) — the gateway never weakens its front side."},
    {C::client_offers_no_nla, "client_offers_no_nla",
     "The client did not ask for Network Level Authentication, and the listener requires it "
     "(nla = \"require\").",
     "\"The remote computer requires Network Level Authentication\"", kNegoFailed,
     "Let the client use NLA (mstsc does by default; FreeRDP: /sec:nla), or set nla = "
     "\"offer\" on the [[listener]] to let clients without NLA log on at the host's screen."},
    {C::no_route, "no_route",
     "No backend matches this client's cookie and the listener has no default backend.",
     kSocketClosed, kTransportFailed,
     "Set default_backend in the [[listener]], or add a [[route]] with mstshash = \"NAME\" "
     "and backend = \"...\"."},
    {C::dns_not_found, "dns_not_found", "The backend's host name does not resolve.", kSocketClosed,
     kTransportFailed, "Fix the name in [[backend]] address, or use the host's IP address."},
    {C::dns_failed, "dns_failed", "Resolving the backend's host name failed (resolver error).",
     kSocketClosed, kTransportFailed,
     "Check /etc/resolv.conf and the DNS server from the gateway host, or use an IP address."},
    {C::connection_refused, "connection_refused",
     "The backend refused the TCP connection: nothing listens on that port.", kSocketClosed,
     kTransportFailed,
     "Check the port in [[backend]] address and that Remote Desktop is enabled on the host "
     "(System Properties > Remote)."},
    {C::connection_timed_out, "connection_timed_out",
     "The backend did not answer the TCP connection in time (filtered or powered off).",
     kSocketClosed, kTransportFailed,
     "Check that the host is up and that firewalls allow the gateway to reach it; raise "
     "[[backend]] connect_timeout only for very slow links."},
    {C::host_unreachable, "host_unreachable", "No route to the backend host (ICMP unreachable).",
     kSocketClosed, kTransportFailed, "Check the gateway host's routes and the backend address."},
    {C::network_unreachable, "network_unreachable", "The backend's network is unreachable.",
     kSocketClosed, kTransportFailed,
     "Check the gateway host's routes, or the address family (IPv6 without a route)."},
    {C::connect_failed, "connect_failed",
     "The TCP connection to the backend failed (detail gives errno).", kSocketClosed,
     kTransportFailed, "Read the errno in the detail; check the address in [[backend]]."},
    {C::host_closed, "host_closed", "The host closed the connection during the handshake.",
     kSocketClosed, kTransportFailed,
     "Read the host's event log (TerminalServices-RemoteConnectionManager) for why it "
     "dropped the connection; the detail says how far the handshake got."},
    {C::host_reset, "host_reset", "The host reset the connection during the handshake.",
     kSocketClosed, kTransportFailed,
     "A host or firewall reset: check the host's RDP listener and anything between."},
    {C::host_silent, "host_silent", "The host accepted TCP but did not answer in time.",
     kSocketClosed, kTransportFailed,
     "Something other than an RDP service listens there, or the host is hung: check the port "
     "in [[backend]] address and the host's Remote Desktop service."},
    {C::host_confirm_malformed, "host_confirm_malformed",
     "The host's X.224 Connection Confirm could not be decoded.", kSocketClosed, kTransportFailed,
     "Check that the backend address is an RDP service; capture and report."},
    {C::host_ssl_required, "host_ssl_required",
     "The host requires TLS (SSL_REQUIRED_BY_SERVER) but the backend profile did not offer it.",
     kSocketClosed, kNegoFailed, "Set [[backend]] security = \"auto\" or \"tls\"."},
    {C::host_ssl_not_allowed, "host_ssl_not_allowed",
     "The host does not speak TLS: it answered the TLS offer with RDP_NEG_FAILURE "
     "SSL_NOT_ALLOWED_BY_SERVER, or by selecting Standard RDP Security (PROTOCOL_RDP); it speaks "
     "only Standard RDP Security, like Windows XP / Server 2003 or a host set to Security Layer: "
     "RDP (the detail says which answer).",
     "\"An authentication error has occurred\" / 0x904", kNegoFailed,
     "Set [[backend]] security = \"rdp\" (or \"auto\") so the gateway speaks Standard RDP "
     "Security to the host; or, on the host, set the RDP-Tcp Security Layer to Negotiate."},
    {C::host_ssl_cert_not_on_server, "host_ssl_cert_not_on_server",
     "The host has no certificate for TLS (SSL_CERT_NOT_ON_SERVER).", kSocketClosed, kNegoFailed,
     "On the host, let Remote Desktop regenerate its certificate: delete the expired or "
     "missing one from certlm.msc > Remote Desktop > Certificates and restart the "
     "TermService service; or set [[backend]] security = \"rdp\"."},
    {C::host_inconsistent_flags, "host_inconsistent_flags",
     "The host rejected the negotiation flags (INCONSISTENT_FLAGS).", kSocketClosed, kNegoFailed,
     "Set [[backend]] security = \"tls\" or \"rdp\" explicitly."},
    {C::host_hybrid_required, "host_hybrid_required",
     "The host requires Network Level Authentication (HYBRID_REQUIRED_BY_SERVER), and the "
     "gateway had no credentials to log on with: the client did not use NLA, or the listener "
     "does not run it.",
     kSocketClosed, kNegoFailed,
     "Set nla = \"offer\" (or \"require\") and nla_users on the [[listener]] so the client "
     "logs on at the gateway with NLA and its password is used for the host; for clients "
     "without NLA (kiosks, rdesktop), give the [[backend]] service credentials "
     "([backend.credentials] user, domain, password_file)."},
    {C::host_ssl_with_user_auth_required, "host_ssl_with_user_auth_required",
     "The host requires TLS with client certificate authentication.", kSocketClosed, kNegoFailed,
     "Not supported by the gateway; change the host's RDP-Tcp security settings."},
    {C::host_unknown_negotiation_failure, "host_unknown_negotiation_failure",
     "The host answered with an undocumented RDP_NEG_FAILURE code.", kSocketClosed, kNegoFailed,
     "Capture the exchange and report it; try [[backend]] security = \"rdp\"."},
    {C::host_predates_negotiation, "host_predates_negotiation",
     "The host answered without any negotiation data, as hosts older than RDP 5.2 do (Windows "
     "2000, XP before SP2, 2003 before SP1): it speaks Standard RDP Security only.",
     kSocketClosed, kNegoFailed, "Set [[backend]] security = \"rdp\" (or \"auto\")."},
    {C::host_selected_unoffered, "host_selected_unoffered",
     "The host selected a security protocol the gateway did not offer.", kSocketClosed, kNegoFailed,
     "A broken or unusual host: capture the exchange and set [[backend]] security "
     "explicitly."},
    {C::front_tls_version_too_old, "front_tls_version_too_old",
     "The client offered only TLS versions below the listener's minimum.",
     "0x904 / \"An internal error has occurred\" (TLS handshake failed)", kTlsFailed,
     "Update the client: the front side accepts TLS 1.2 and 1.3 only, by design, and no "
     "setting lowers that (Windows 7 needs KB3080079 and the DefaultSecureProtocols registry "
     "value for TLS 1.2; the detail names the version the client offered)."},
    {C::front_no_shared_cipher, "front_no_shared_cipher",
     "The client offered no cipher suite the gateway's front side accepts.",
     "0x904 / \"An internal error has occurred\"", kTlsFailed,
     "Update the client; the front side accepts modern AEAD suites only."},
    {C::client_rejected_certificate, "client_rejected_certificate",
     "The client rejected the gateway's certificate (TLS alert unknown_ca, bad_certificate or "
     "certificate_unknown).",
     "\"The remote computer could not be authenticated due to problems with its security "
     "certificate\"",
     "ERRCONNECT_TLS_CONNECT_FAILED (certificate verification failed)",
     "Install a certificate clients trust: [listener.tls] certificate and private_key, with the "
     "name clients connect to in its SAN; or distribute the generated certificate in "
     "state_dir to clients."},
    {C::front_tls_failed, "front_tls_failed",
     "The TLS handshake with the client failed (detail gives OpenSSL's reason and any alert).",
     "0x904 / \"An internal error has occurred\"", kTlsFailed,
     "Read the detail; check [listener.tls] settings and the client's TLS configuration."},
    {C::host_tls_version_mismatch, "host_tls_version_mismatch",
     "The host and the backend profile share no TLS version (e.g. a TLS 1.0-only Windows 7 "
     "host while the profile's minimum is 1.2).",
     kSocketClosed, kTlsFailed,
     "Set [backend.tls] min_version = \"1.0\" for this backend (legacy TLS stays confined to "
     "it), or enable TLS 1.2 on the host (KB3080079 plus the SChannel registry keys)."},
    {C::host_no_shared_cipher, "host_no_shared_cipher",
     "The host and the backend profile share no cipher suite.", kSocketClosed, kTlsFailed,
     "Add the host's suites to [backend.tls] ciphers (e.g. \"AES256-SHA:AES128-SHA:"
     "DES-CBC3-SHA\") and set security_level = 0."},
    {C::host_requires_insecure_renegotiation, "host_requires_insecure_renegotiation",
     "The host does not support secure renegotiation (RFC 5746) and the profile refuses such "
     "hosts.",
     kSocketClosed, kTlsFailed, "Set [backend.tls] legacy_renegotiation = true."},
    {C::host_certificate_expired, "host_certificate_expired", "The host's certificate has expired.",
     kSocketClosed, kTlsFailed,
     "On the host, open certlm.msc > Remote Desktop > Certificates, delete the expired "
     "certificate and restart the Remote Desktop Services (TermService) service: it generates "
     "a new one. Then update [backend.tls] pin_sha256 (rdpbridge probe prints it)."},
    {C::host_certificate_not_yet_valid, "host_certificate_not_yet_valid",
     "The host's certificate is not valid yet (clock skew on the host or the gateway).",
     kSocketClosed, kTlsFailed, "Fix the clock (NTP) on the host or on the gateway."},
    {C::host_certificate_untrusted, "host_certificate_untrusted",
     "The host's certificate does not chain to [backend.tls] ca_file.", kSocketClosed, kTlsFailed,
     "Put the issuing CA into ca_file, or pin the certificate: verify = \"pin\" with "
     "pin_sha256 = the fingerprint rdpbridge probe prints."},
    {C::host_certificate_pin_mismatch, "host_certificate_pin_mismatch",
     "The host's certificate fingerprint differs from [backend.tls] pin_sha256 (the host "
     "regenerated its certificate, or something is intercepting).",
     kSocketClosed, kTlsFailed,
     "Verify the new certificate on the host (certlm.msc > Remote Desktop), then set "
     "pin_sha256 to its SHA-256 fingerprint."},
    {C::host_certificate_name_mismatch, "host_certificate_name_mismatch",
     "The host's certificate does not name the host the profile connects to.", kSocketClosed,
     kTlsFailed, "Set [backend.tls] sni to a name in the certificate, or use verify = \"pin\"."},
    {C::host_tls_failed, "host_tls_failed",
     "The TLS handshake with the host failed (detail gives OpenSSL's reason and any alert).",
     kSocketClosed, kTlsFailed,
     "Run rdpbridge probe against the host and compare with [backend.tls]."},
    {C::host_identity_changed, "host_identity_changed",
     "The host presented a different key than the one recorded for it (its TLS certificate's "
     "key, or its Standard RDP Security RSA key): the host was reinstalled or regenerated its "
     "certificate, or another machine answers on its address. Nothing beyond the X.224 request "
     "(and, for RDP keys, the MCS Connect Initial) was sent to it; no credentials.",
     kSocketClosed, kTransportFailed,
     "Check the new fingerprint on the host itself (certlm.msc > Remote Desktop, or rdpbridge "
     "probe from a trusted network), then run `rdpbridge hosts accept NAME`; if you cannot "
     "explain the change, treat it as an attack and leave it refused."},
    {C::host_identity_unknown, "host_identity_unknown",
     "Nothing is recorded for this host and [backend.tls] tofu_first_use = \"refuse\": its "
     "identity was recorded as pending and this connection refused.",
     kSocketClosed, kTransportFailed,
     "Check the pending fingerprint (`rdpbridge hosts show NAME`) against the host, then "
     "`rdpbridge hosts accept NAME`; or set tofu_first_use = \"learn\" to trust on first use."},
    {C::host_security_downgrade, "host_security_downgrade",
     "The host was seen before with stronger security (TLS, or NLA) and now answers with less "
     "(Standard RDP Security, a refusal of TLS, or TLS without NLA): a downgrade that could "
     "hand the credentials to whoever answers. Nothing beyond the X.224 request was sent.",
     kSocketClosed, kTransportFailed,
     "If the host's Security Layer really was lowered on purpose, run `rdpbridge hosts accept "
     "NAME` (it takes the new layers); otherwise find the machine answering on the host's "
     "address."},
    {C::host_rdp_key_not_pinned, "host_rdp_key_not_pinned",
     "The host answered with Standard RDP Security, but the backend verifies by pin or CA and "
     "has no pinned RDP key, so nothing could prove the host's identity on that layer.",
     kSocketClosed, kTransportFailed,
     "If the host really speaks only Standard RDP Security, set [backend.tls] rdp_key_sha256 to "
     "its key's fingerprint (rdpbridge probe prints it); or set security = \"tls\" to refuse "
     "the fallback outright."},
    {C::host_identity_unverified, "host_identity_unverified",
     "The gateway holds credentials for this session (delegated over NLA, or the backend's "
     "service account) but [backend.tls] verify = \"off\": it does not send passwords to a "
     "host whose identity it does not check.",
     kSocketClosed, kTransportFailed,
     "Set [backend.tls] verify = \"tofu\" (the default), \"pin\" or \"ca\" for this backend."},
    {C::client_nla_failed, "client_nla_failed",
     "The client's NLA logon was refused: the gateway's security package rejected its user or "
     "password (detail gives the package's reason).",
     "\"The logon attempt failed\" (the gateway answers errorCode STATUS_LOGON_FAILURE)",
     "ERRCONNECT_LOGON_FAILURE",
     "Check the user and its password in the gateway's NLA users file, and that the client "
     "sends the domain the file expects; the user retypes the password."},
    {C::client_nla_binding_mismatch, "client_nla_binding_mismatch",
     "Possible man-in-the-middle: the client bound its NLA run to another public key than the "
     "gateway's certificate, so something between client and gateway terminates TLS. No "
     "credentials were accepted.",
     "\"The logon attempt failed\" (errorCode STATUS_LOGON_FAILURE)", "ERRCONNECT_LOGON_FAILURE",
     "Find the device that intercepts TLS on the client's path (TLS-inspecting proxy or "
     "firewall, antivirus HTTPS scanning) and exempt the gateway's port; the client must see "
     "the gateway's own certificate."},
    {C::client_delegated_no_password, "client_delegated_no_password",
     "The client authenticated but delegated no password (Restricted Admin mode, Remote "
     "Credential Guard or a smart card): the gateway needs the password to log on to the host.",
     "under HYBRID_EX its access-denied message (Early User Authorization Result denied); "
     "else 0x904 (socket closed)",
     kTransportFailed,
     "Connect with a password and without Restricted Admin or Remote Credential Guard (mstsc "
     "without /restrictedAdmin and /remoteGuard; check the Group Policy 'Restrict delegation of "
     "credentials to remote servers')."},
    {C::client_nla_malformed, "client_nla_malformed",
     "The client's CredSSP messages could not be decoded or came out of order (detail names the "
     "field or step).",
     kSocketClosed, kTransportFailed,
     "Update the client, or capture and report; the detail "
     "names the field."},
    {C::host_nla_failed, "host_nla_failed",
     "The gateway's security package could not authenticate to the host (detail gives the "
     "package's reason: no shared mechanism, no Kerberos ticket, NTLM flags refused).",
     kSocketClosed, kTransportFailed,
     "Read the package's reason in the detail; for NTLM check that the host allows it (Group "
     "Policy 'Network security: Restrict NTLM'), for Kerberos the gateway's realm setup."},
    {C::host_nla_logon_failure, "host_nla_logon_failure",
     "The host refused the gateway's NLA logon with the user and password the client "
     "delegated: it sent an errorCode (detail names the NTSTATUS, e.g. STATUS_LOGON_FAILURE, "
     "STATUS_ACCOUNT_LOCKED_OUT), or closed right after the credentials.",
     kSocketClosed, kTransportFailed,
     "Check the user on the host (password, lockout, expiry, logon hours); the gateway logs "
     "on with exactly what the client delegated, so the passwords in the gateway's users file "
     "and on the host must agree."},
    {C::host_nla_binding_mismatch, "host_nla_binding_mismatch",
     "Possible man-in-the-middle: the host's NLA answer does not bind to the certificate it "
     "presented in TLS, so something between gateway and host terminates TLS. No credentials "
     "were sent.",
     kSocketClosed, kTransportFailed,
     "Find the device that intercepts TLS between gateway and host; pin the host's certificate "
     "([backend.tls] verify = \"pin\") to stop at TLS already."},
    {C::host_nla_access_denied, "host_nla_access_denied",
     "The host authenticated the user but denied access (Early User Authorization Result "
     "denied): the user may not log on remotely.",
     kSocketClosed, kTransportFailed,
     "Add the user to the host's Remote Desktop Users group, or grant 'Allow log on through "
     "Remote Desktop Services'."},
    {C::host_nla_malformed, "host_nla_malformed",
     "The host's CredSSP messages could not be decoded or came out of order (detail names the "
     "field or step).",
     kSocketClosed, kTransportFailed, "Capture and report; the detail names the field."},
    {C::client_mcs_malformed, "client_mcs_malformed",
     "The client's MCS Connect Initial could not be decoded or rewritten.", kSocketClosed,
     kTransportFailed, "Capture and report; the detail names the field."},
    {C::host_mcs_malformed, "host_mcs_malformed",
     "The host's MCS Connect Response could not be decoded or rewritten.", kSocketClosed,
     kTransportFailed, "Capture and report; the detail names the field."},
    {C::client_requested_ms_t120, "client_requested_ms_t120",
     "Attack indicator: the client asked for the internal MS_T120 channel, the trigger of "
     "BlueKeep (CVE-2019-0708) on unpatched Windows XP/2003/7. Refused before reaching the host.",
     kSocketClosed, kTransportFailed,
     "Investigate the source address. Only if a legitimate client really needs it (none does), "
     "set [shield] refuse_ms_t120 = false."},
    {C::host_selected_unoffered_method, "host_selected_unoffered_method",
     "The host chose a Standard RDP Security encryption method the backend profile does not "
     "allow.",
     kSocketClosed, kTransportFailed,
     "Add the host's method to [[backend]] encryption_methods (e.g. [\"128\", \"56\", \"40\"]) "
     "or raise the host's encryption level (Group Policy: Set client connection encryption "
     "level = High)."},
    {C::host_mac_mismatch, "host_mac_mismatch",
     "A PDU from the host failed its Standard RDP Security MAC check: corrupted or tampered "
     "with. The session was closed without passing it on.",
     "0xC06 (decryption error)", "ERRCONNECT_CONNECT_TRANSPORT_FAILED",
     "Check the network path to the host for devices that alter traffic; if it repeats with one "
     "host, capture it and report it."},
    {C::host_set_error_info, "host_set_error_info",
     "The host sent a Set Error Info PDU and closed: the detail names the ERRINFO code it gave "
     "(licensing, logon, server policy, protocol error).",
     "the message for that ERRINFO code; extended reason = the code (e.g. 7 = server denied "
     "connection)",
     "ERRINFO_* (the same code)",
     "Act on the ERRINFO code in the detail: licensing codes (0x100+) mean the host's RD "
     "licensing; ERRINFO_SERVER_DENIED_CONNECTION means the host's policy refused the user."},
    {C::rate_limited, "rate_limited",
     "The client's address (for IPv6: its network, [limits] ipv6_source_prefix) opened new "
     "connections faster than allowed; this one was closed at once.",
     kSocketClosed, kTransportFailed,
     "If the source is legitimate (a NAT in front of many users), raise [limits] "
     "connections_per_second_per_source; otherwise it is a scan or a flood."},
    {C::limit_handshakes, "limit_handshakes",
     "Too many connections were in their handshake at once; this one was closed at once.",
     kSocketClosed, kTransportFailed,
     "A flood of half-open or slow clients; if the load is legitimate raise [limits] "
     "max_handshakes."},
    {C::limit_sessions, "limit_sessions", "The gateway already carries its maximum of sessions.",
     kSocketClosed, kTransportFailed, "Raise [limits] max_sessions if the machine has room."},
    {C::limit_sessions_per_source, "limit_sessions_per_source",
     "The client's address (for IPv6: its network, [limits] ipv6_source_prefix) already has its "
     "maximum of sessions and handshakes.",
     kSocketClosed, kTransportFailed,
     "Raise [limits] max_sessions_per_source for addresses that front many users (NAT)."},
    {C::limit_handshakes_per_source, "limit_handshakes_per_source",
     "The client's address (for IPv6: its network, [limits] ipv6_source_prefix) already has its "
     "maximum of connections in their handshake; this one was closed at once, so that one "
     "source's silent or slow connections cannot hold every handshake slot.",
     kSocketClosed, kTransportFailed,
     "Usually one host opening connections and not finishing them (a slow-loris flood): "
     "investigate the source. If it fronts many users who connect at the same moment (NAT, a "
     "jump host), raise [limits] max_handshakes_per_source (at most max_handshakes)."},
    {C::source_not_allowed, "source_not_allowed",
     "The client's address is not allowed on this listener ([[listener]] allow / deny); the "
     "connection was closed before any byte was read.",
     kSocketClosed, kTransportFailed,
     "If the client should get in, add its address or network to the listener's allow list (or "
     "remove it from deny), e.g. allow = [\"192.0.2.0/24\"]. Logged once per source per 10 s; "
     "more refusals from it are summarised."},
    {C::proxy_source_not_allowed, "proxy_source_not_allowed",
     "The listener expects a PROXY protocol header (proxy_protocol = true), and this connection "
     "comes from an address outside proxy_protocol_from: only the load balancers may say where "
     "a client is. Closed before any byte was read.",
     kSocketClosed, kTransportFailed,
     "Connect through the load balancer; if this address is one of them, add it to the "
     "listener's proxy_protocol_from."},
    {C::proxy_header_invalid, "proxy_header_invalid",
     "The load balancer's PROXY protocol header is missing or malformed (the detail names the "
     "field).",
     kSocketClosed, kTransportFailed,
     "Make the balancer send it on every connection to this listener (HAProxy: `send-proxy` or "
     "`send-proxy-v2` on the server line); health checks need it too (`check-send-proxy`)."},
    {C::gateway_shutting_down, "gateway_shutting_down",
     "The gateway was stopping while this connection was in its handshake.", kSocketClosed,
     kTransportFailed, "Reconnect once the gateway is back."},
    {C::internal_error, "internal_error", "An unexpected error inside the gateway.", kSocketClosed,
     kTransportFailed, "Report it with the detail and the connection id."},
});

}  // namespace

std::string_view to_string(Stage s) {
    static constexpr std::array<std::string_view, kStageCount> names{
        "client_transport",  "proxy_header",    "client_x224",         "routing",
        "backend_resolve",   "backend_connect", "backend_negotiation", "front_tls",
        "front_nla",         "backend_tls",     "backend_nla",         "mcs_gcc",
        "security_exchange", "licensing",       "capability_exchange", "active_session"};
    return names[std::size_t(s)];
}

const CauseInfo& describe(Cause c) {
    static_assert(kCauses.size() == std::size_t(Cause::internal_error) + 1,
                  "every Cause needs exactly one row, in enum order");
    return kCauses[std::size_t(c)];
}

std::span<const CauseInfo> all_causes() {
    return kCauses;
}

}  // namespace rdpbridge::rdp

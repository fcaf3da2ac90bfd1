// Validated, immutable configuration. Everything the proxy reads from a TOML file (or from the
// quick-start flags) ends up here, already checked: code that receives a Config never has to
// validate a field again.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cidr.hpp"

namespace rdpbridge::config {

using Duration = std::chrono::milliseconds;

enum class TlsVersion { tls1_0, tls1_1, tls1_2, tls1_3 };

// What the proxy offers the host on the back leg, and accepts from it.
//   auto: offer TLS; settle on what the host answers.
//   tls:  TLS only; a host that refuses TLS is a handshake failure.
//   rdp:  Standard RDP Security only.
enum class BackendSecurity { automatic, tls, rdp };

// How the host's identity is checked (see README, "Host identity"):
//   tofu: trust on first use — the first contact records the host's keys in the known-hosts
//         store; every later contact must present the same keys (the default);
//   pin:  the TLS certificate's SHA-256 (pin_sha256), and rdp_key_sha256 for Standard RDP
//         Security;
//   ca:   a chain to ca_file, naming the host (sni, name, or the address's host part);
//   off:  nothing is checked, and no credentials are ever sent to the host.
enum class CertVerify { tofu, off, pin, ca };

// tofu with nothing recorded yet: learn and proceed (as OpenSSH's accept-new), or record the
// identity as pending and refuse until an operator accepts it (`rdpbridge hosts accept`).
enum class FirstUse { learn, refuse };

struct Endpoint {
    std::string host;  // name or literal address; IPv6 literals without brackets
    uint16_t port = 3389;

    // Reload compares the old and the new configuration, part by part.
    bool operator==(const Endpoint&) const = default;
};

struct FrontTls {
    std::optional<std::filesystem::path> certificate;  // PEM chain; both or neither with key
    std::optional<std::filesystem::path> private_key;  // PEM
    TlsVersion min_version = TlsVersion::tls1_2;

    bool operator==(const FrontTls&) const = default;
};

struct BackendTls {
    TlsVersion min_version = TlsVersion::tls1_0;
    TlsVersion max_version = TlsVersion::tls1_3;
    // OpenSSL cipher list for TLS <= 1.2. The default admits the CBC-SHA suites Windows 7 /
    // Server 2008 R2 speak; @SECLEVEL is set separately by security_level.
    std::string ciphers = "DEFAULT:AES256-SHA:AES128-SHA:DES-CBC3-SHA";
    int security_level = 0;            // OpenSSL security level 0..5 for this backend only
    bool legacy_renegotiation = true;  // connect to hosts without RFC 5746 support
    CertVerify verify = CertVerify::tofu;
    FirstUse tofu_first_use = FirstUse::learn;
    std::string pin_sha256;  // lower-case hex, no separators (32 bytes) when verify == pin
    // The Standard RDP Security key's SHA-256 (rdp::rdp_key_sha256) with verify pin or ca; without
    // it, pin and ca refuse a fall-back to Standard RDP Security.
    std::string rdp_key_sha256;
    std::optional<std::filesystem::path> ca_file;  // when verify == ca
    std::string sni;     // server name to send; empty = none (legacy hosts ignore it)
    std::string name;    // verify == ca: the name the certificate must carry (default: sni, else
                         // the address's host part)
    bool resume = true;  // offer the host its earlier TLS sessions (session IDs, tickets)

    bool operator==(const BackendTls&) const = default;
};

// Standard RDP Security encryption methods a backend may use (CS_SECURITY bits).
namespace rdp_method {
inline constexpr uint32_t bits40 = 0x01;
inline constexpr uint32_t bits128 = 0x02;
inline constexpr uint32_t bits56 = 0x08;
inline constexpr uint32_t fips = 0x10;
}  // namespace rdp_method

// A service account the gateway logs on to an NLA host with, for clients that bring no
// credentials of their own (kiosks, shared consoles, clients without NLA). The password is read
// from password_file at start (mode 0600), never from the config or the command line.
struct ServiceCredentials {
    std::string user;
    std::string domain;
    std::filesystem::path password_file;

    bool operator==(const ServiceCredentials&) const = default;
};

// One allow-or-deny list. `allow` present (even empty): only what it lists passes; else `deny`
// lists what never passes.
struct PassRules {
    std::optional<std::vector<std::string>> allow;  // lower case
    std::vector<std::string> deny;                  // lower case
    bool operator==(const PassRules&) const = default;
};

// [backend.channels] / [route.channels]: which static virtual channels, and which rdpdr device
// types, reach the host.
struct ChannelPolicy {
    PassRules channels;  // static channel names
    PassRules devices;   // "drive", "printer", "serial", "parallel", "smartcard"
    bool operator==(const ChannelPolicy&) const = default;
};

struct Backend {
    std::string name;
    Endpoint address;
    BackendSecurity security = BackendSecurity::automatic;
    BackendTls tls;
    // Offered to hosts that speak Standard RDP Security. 40/56-bit RC4 only where a host
    // needs it: the profile widens legacy crypto for that backend alone.
    uint32_t encryption_methods = rdp_method::bits128 | rdp_method::fips;
    Duration connect_timeout = std::chrono::seconds(5);
    std::optional<ServiceCredentials> credentials;
    // When the host is contacted. false (default): only for a client that completed the front
    // TLS handshake (and NLA, when on), so port scanners and clients that give up early never
    // reach it; the gateway answers the client's X.224 request itself. true: before answering
    // it, as a direct connection would, so that a client without NLA is told the host's own
    // refusal code and gets the host's capability flags (extended client data, graphics
    // pipeline), at the cost of a host connection for every X.224 request, scanners included.
    bool early_host_contact = false;
    // Which of the client's static virtual channels (and rdpdr device types) reach the host;
    // nullopt (no [backend.channels] table): all of them. A matching route's own table replaces
    // this one (effective_channel_policy in config/channel_policy.hpp).
    std::optional<ChannelPolicy> channels;

    bool operator==(const Backend&) const = default;
};

// Network Level Authentication towards clients (CredSSP over TLS, PROTOCOL_HYBRID[_EX]). The
// gateway authenticates the client itself and takes the password it delegates, to log on to the
// host with: through the host's own NLA, or as auto-logon where the host has none.
enum class NlaMode {
    off,      // TLS only; a client that asks for NLA gets TLS, and logs on at the host's screen
    offer,    // NLA for clients that ask for it, TLS for the others
    require,  // clients that do not ask for NLA are refused (HYBRID_REQUIRED_BY_SERVER)
};

struct Listener {
    std::string name;
    Endpoint bind;
    FrontTls tls;
    std::string default_backend;  // may be empty when routes cover every client
    NlaMode nla = NlaMode::off;
    // Who may log on through NLA: gss-ntlmssp's users file, lines DOMAIN:USER:PASSWORD, mode 0600.
    std::optional<std::filesystem::path> nla_users;
    // Kerberos for domain clients: a keytab with TERMSRV/<gateway host> keys. SPNEGO then offers
    // Kerberos besides NTLM. Still needs nla_users (or winbind) for NTLM clients.
    std::optional<std::filesystem::path> nla_keytab;
    // Who may connect at all, checked before any byte is read (source_not_allowed otherwise):
    // `deny` wins; a non-empty `allow` admits only what it lists. Empty both: everyone.
    std::vector<Cidr> allow;
    std::vector<Cidr> deny;
    // Clients come through load balancers that send a PROXY protocol header (v1 or v2) first:
    // its source address is the client's, for logs, metrics, limits and allow/deny. Accepted
    // only from `proxy_protocol_from` (the balancers); anyone else is refused.
    bool proxy_protocol = false;
    std::vector<Cidr> proxy_protocol_from;

    bool operator==(const Listener&) const = default;
};

// A route sends clients whose X.224 cookie (`Cookie: mstshash=NAME`) matches `mstshash` to
// `backend`. The match is case-insensitive; a trailing '*' matches any suffix.
struct Route {
    std::string listener;  // empty = every listener
    std::string mstshash;
    std::string backend;
    // [route.channels]: replaces the backend's channel policy entirely for clients on this
    // route; nullopt: the backend's applies.
    std::optional<ChannelPolicy> channels;

    bool operator==(const Route&) const = default;
};

struct Limits {
    Duration handshake_timeout = std::chrono::seconds(10);
    std::size_t max_x224_request = 2048;  // bytes; a real request is < 200
    // Bytes held per direction at most, and only while they are in flight. Four TLS records:
    // one read and one send carry four records instead of one.
    std::size_t relay_buffer = 64 * 1024;
    std::size_t max_sessions = 2000;           // established sessions, all listeners
    std::size_t max_handshakes = 256;          // connections still in their handshake
    std::size_t max_sessions_per_source = 50;  // established sessions per client address
    // Connections in their handshake per client address: without it six silent sources could
    // hold all 256 handshake slots. At most max_handshakes; when not configured,
    // default_handshakes_per_source(max_handshakes), which is this value for the default 256.
    std::size_t max_handshakes_per_source = 32;
    double connections_per_second_per_source = 20;   // new connections, token bucket
    Duration idle_timeout = std::chrono::hours(12);  // no byte either way; 0 = never
    // Every per-source limit (rate, handshakes, sessions) counts an IPv6 client by this prefix
    // of its address, since one host or customer usually holds a whole /64 and could otherwise
    // take a fresh address per connection. 1..128; IPv4 (and IPv4-mapped IPv6) is per address.
    int ipv6_source_prefix = 64;
    // TCP keepalive on both legs of every session; 0 = off. Whole seconds, 1s..2h. The first
    // probe goes after `keepalive` of silence, then one every keepalive/6 (at least 1 s); after
    // 4 unanswered probes the peer counts as vanished (about 1.7 × keepalive; TCP_USER_TIMEOUT
    // is set to the same, so data in flight does not prolong it): session_closed with reason
    // peer_vanished.
    Duration keepalive = std::chrono::seconds(60);

    bool operator==(const Limits&) const = default;
};

// A small share of the handshake slots (an eighth, at least 4, never more than all of them).
std::size_t default_handshakes_per_source(std::size_t max_handshakes);

// Protections for the hosts behind the gateway.
struct Shield {
    bool refuse_ms_t120 = true;  // BlueKeep (CVE-2019-0708) trigger

    bool operator==(const Shield&) const = default;
};

// How the gateway runs as a service.
struct Service {
    // On SIGTERM: how long established sessions may go on (nothing new is accepted) before the
    // gateway closes them; 0 = close at once. A second SIGTERM closes at once too.
    Duration drain_timeout = std::chrono::seconds(30);
    // Event loops (threads) that run sessions; 0 = one per CPU this process may run on. Takes
    // effect at start: a reload keeps the running loops.
    int workers = 0;

    bool operator==(const Service&) const = default;
};

// Who may read the admin endpoint's pages (everything but /healthz and /readyz, which load
// balancers and probes ask without secrets and which reveal nothing).
enum class AdminAccess {
    loopback_only,  // no credentials: allowed only while `bind` is a loopback address
    bearer_token,   // token_file: `Authorization: Bearer <token>` (Prometheus' credentials_file)
    basic_auth,     // basic_auth_file: `Authorization: Basic` (Prometheus' basic_auth, a browser)
};

// The admin endpoint (plain HTTP): GET /metrics (Prometheus), /healthz, /readyz. Off unless
// `bind` is set. Its pages show what the gateway serves and to whom, so bound anywhere but a
// loopback address it must have credentials: one of token_file and basic_auth_file (the loader
// refuses neither and both). Credentials that are set apply on loopback too.
struct Admin {
    std::optional<Endpoint> bind;
    std::optional<std::filesystem::path> token_file;       // one line, the bearer token; 0600
    std::optional<std::filesystem::path> basic_auth_file;  // user:password lines; 0600

    AdminAccess access() const {
        return token_file        ? AdminAccess::bearer_token
               : basic_auth_file ? AdminAccess::basic_auth
                                 : AdminAccess::loopback_only;
    }
    bool operator==(const Admin&) const = default;
};

struct Logging {
    std::optional<std::filesystem::path> handshake_log;  // JSON Lines; none = stderr only
    std::string level = "info";                          // trace|debug|info|warn|error
    std::size_t rotate_size_mb = 50;                     // rotate the handshake log at this size
    std::size_t rotate_files = 5;  // rotated files kept: handshake.1.jsonl .. .5.jsonl
    // The group that may read the handshake log (mode 0640): given to the log's directory with
    // the setgid bit, so the log and every rotation inherit it. Empty: the service's own group.
    std::string group;

    bool operator==(const Logging&) const = default;
};

struct SourcePosition {
    int line = 0;
    int column = 0;
};

struct Config {
    // Where the values came from, for errors found after loading (config::error_at): the file
    // and the position of every key and table written in it. Empty for a quick start.
    std::string source;
    std::map<std::string, SourcePosition, std::less<>> positions;
    bool quick_start = false;  // built from `run --listen --target`: fixes name flags, not keys
    std::filesystem::path state_dir = "/var/lib/rdpbridge";  // generated front certificate
    // The known-hosts store; several gateways behind one balancer may share it (they lock it and
    // never overwrite an identity another pinned). Unset: <state_dir>/known_hosts.jsonl.
    std::optional<std::filesystem::path> known_hosts;
    Logging logging;
    Limits limits;
    Shield shield;
    Service service;
    Admin admin;
    std::vector<Listener> listeners;
    std::vector<Backend> backends;
    std::vector<Route> routes;

    const Backend* find_backend(std::string_view name) const;
    std::filesystem::path known_hosts_file() const {
        return known_hosts ? *known_hosts : state_dir / "known_hosts.jsonl";
    }
};

std::string_view to_string(TlsVersion v);
std::string_view to_string(BackendSecurity s);
std::string_view to_string(NlaMode m);
std::string_view to_string(CertVerify v);
// "loopback only", "bearer token", "basic auth": how the status page and check-config say it.
std::string_view to_string(AdminAccess a);

// Settings that are valid but probably not what the operator wants, each with the fix; printed
// by check-config and logged at start-up.
std::vector<std::string> warnings(const Config& config);

}  // namespace rdpbridge::config

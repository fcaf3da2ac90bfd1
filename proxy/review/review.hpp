// The handshake review a person looks at: the live status page on the admin endpoint (`GET /`)
// and the report `rdpbridge logs --html` writes. Both are built as this data and rendered by the
// same code, so they look and read alike; the JSON twins under /api/ are this data as JSON.
// Pure: no files, no clock, no sockets.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rdpbridge::review {

using Json = nlohmann::ordered_json;

// A failure cause as the vocabulary (rdp/diagnosis.hpp) explains it.
struct CauseInfo {
    std::string cause;  // the id, e.g. "host_tls_failed"
    std::string explanation;
    std::string mstsc;    // what mstsc shows
    std::string freerdp;  // what FreeRDP shows
    std::string fix;
};

struct LastFailure {
    std::string ts;  // RFC 3339 UTC, as logged
    std::string stage;
    std::string cause;
    std::string explanation;
    std::string fix;
    std::string detail;
    std::string conn;
};

struct BackendRow {
    std::string name;
    std::string address;       // "host:port" as configured; empty in a report built from logs
    std::string state;         // "ok" | "failing" | "never reached"
    std::string last_success;  // RFC 3339 UTC; empty: none in the window
    std::optional<LastFailure> last_failure;
    std::string front_security;  // as last negotiated, e.g. "TLS 1.3 TLS_AES_256_GCM_SHA384"
    std::string back_security;   // e.g. "TLS 1.0 AES128-SHA", "RDP 128-bit RC4", "+ NLA"
    std::optional<long> cert_days_left;  // the host certificate's, as last presented
    std::string identity;  // "learned" | "pinned" | "changed, refused" | "not checked" | ""
    std::uint64_t sessions_now = 0;
    std::uint64_t established = 0;  // in the window
    std::uint64_t failed = 0;       // in the window
    // A report from logs: the channel policies its sessions ran under in the window, as logged
    // ("channels deny cliprdr; devices deny drive"), and what they kept from the host ("12
    // sessions had channels removed (cliprdr 12); 4 devices refused (drive 4)"; "" if nothing).
    std::vector<std::string> channel_policies;
    std::string channels_kept;
};

// Failures over a window, counted per cause in equal buckets (oldest first).
struct Timeline {
    std::string label;  // "last 24 h", "last 7 days"
    std::string start;  // RFC 3339 UTC of the first bucket's start
    std::int64_t bucket_seconds = 0;
    std::size_t buckets = 0;
    struct Series {
        std::string cause;
        std::vector<std::uint64_t> counts;  // size() == buckets
        std::uint64_t total = 0;
    };
    std::vector<Series> by_cause;  // most failures first
};

struct LiveSession {
    std::string conn;
    std::string user;  // mstshash cookie or NLA user (domain\user); never a password
    std::string client;
    std::string backend;
    std::string front_security;
    std::string back_security;
    std::string since;  // RFC 3339 UTC
    std::uint64_t bytes_client_to_host = 0;
    std::uint64_t bytes_host_to_client = 0;
};

struct Review {
    std::string title;      // "rdpbridge on HOSTNAME" or "Handshake report: FILE, …"
    std::string generated;  // RFC 3339 UTC
    std::string access;     // the page: "loopback only", "bearer token", "basic auth"; report: ""
    bool live = false;      // the status page: live sessions, auto-refresh
    std::vector<BackendRow> backends;
    std::vector<Timeline> timelines;  // last 24 h, last 7 days
    std::vector<CauseInfo> causes;    // every cause the timelines or failures name
    std::vector<LiveSession> sessions;
    std::vector<Json> recent_failures;  // whole handshake_failed events, newest first (capped)
    std::uint64_t failures_in_window = 0;
};

}  // namespace rdpbridge::review

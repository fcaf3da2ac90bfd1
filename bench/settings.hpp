// Everything a bench run can be told, with the full run's defaults; --smoke shrinks the counts
// and durations to a seconds-long check that the instrument works.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "bench/tls_contexts.hpp"

namespace rdpbridge::bench {

struct RelaySettings {
    std::vector<std::size_t> session_counts;  // default: 1, then one per core
    double warmup_seconds = 2;
    double seconds = 10;
    std::size_t output_pdu = 16384;  // host -> client fast-path PDU size (one full TLS record)
    std::size_t input_events = 255;  // client -> host mouse events per input PDU (1,789 bytes)
    // Standard RDP Security back legs measured with one session each (an XP / 2003-like host):
    // "rc4-128", "fips".
    std::vector<std::string> rdp_legs = {"rc4-128", "fips"};
    // Each TLS to TLS figure measured once more through a gateway with a channel policy
    // ([backend.channels] deny = ["cliprdr"], devices deny = ["drive"]), and the clients' input
    // alone with and without it (one session, the host silent).
    bool channel_policy = true;
    // With and without the policy alternate this many times, each one's bytes and CPU-seconds
    // pooled: on two shared cores the gateway's CPU per byte moved by a third between two
    // runs of the same relay, with how much else ran.
    std::size_t policy_rounds = 3;
};

struct IdleSettings {
    std::size_t sessions = 10000;
    std::size_t concurrency = 64;  // handshakes in flight while opening
    double settle_seconds = 2;
    double seconds = 5;  // CPU is measured over this much idleness
    uint64_t rss_limit = uint64_t(1) << 30;
    double cpu_limit = 0.01;  // cores: "about zero"
};

struct HandshakeSettings {
    std::size_t concurrency = 16;
    std::size_t max_sessions = 1000000;
    double seconds = 10;
    // Front keys to measure: "rsa" (the generated RSA-2048 certificate, the default a user
    // gets), "ecdsa" (a P-256 certificate given as [listener.tls], for sites that want more).
    std::vector<std::string> front_keys = {"rsa", "ecdsa"};
};

struct LatencySettings {
    std::size_t sessions = 100;
    double bytes_per_second = 1e6;   // per session
    std::size_t output_pdu = 16384;  // one full TLS record, as bulk screen updates travel
    double min_achieved = 0.9;       // below this share of the offered load the run is void
    double warmup_seconds = 2;
    double seconds = 10;
    std::size_t concurrency = 16;
};

// One saturated relay session measured twice through the same gateway: alone, then while a
// flood of garbage-sending connections (2 handshake-log events each) is paced over the window.
struct LoggingSettings {
    double warmup_seconds = 2;
    double seconds = 10;                   // each window: baseline, then loaded
    std::size_t flood_connections = 5000;  // connection_accepted + handshake_failed each
    std::size_t flood_concurrency = 32;    // flood connections open at once, at most
    // The gateway's [limits] for this scenario: high enough that admission refuses no flood
    // connection (a refusal would log one event instead of two).
    std::size_t max_handshakes = 100000;
    std::size_t connections_per_second_per_source = 1000000;
};

// The status page (admin endpoint) of a gateway started on a synthetic handshake log: once
// empty, once with a tenth of the events, once with all of them.
struct StatusSettings {
    std::size_t events = 100000;  // in the 7-day window, as the issue states its promise
    std::size_t renders = 30;     // GET / per gateway
    std::size_t api_renders = 5;  // GET /api/review per gateway
    double render_limit_ms = 100;
    // The window's memory: 168 hourly counters per cause and the 200 newest failures are well
    // under a MiB; the budget leaves room for allocator noise, not for growth with the events.
    uint64_t memory_budget = uint64_t(16) << 20;
};

// HAProxy beside rdpbridge in the handshake and relay scenarios (bench/haproxy_process.hpp).
struct HaproxySettings {
    bool enabled = true;
    std::filesystem::path binary = "/usr/sbin/haproxy";
    // "on": HAProxy logs one line per session (option tcplog), as rdpbridge writes its handshake
    // log; "off": no log; "both": measured with the log, and once more without it for the
    // row's details.
    std::string log = "on";
    // The handshake comparison alternates the proxies this many times (rdpbridge, HAProxy,
    // rdpbridge, ...) and pools each one's sessions and CPU-seconds: on a shared two-core machine
    // a single pair of runs drifted by a third between runs.
    std::size_t rounds = 3;
    std::string version;  // `haproxy -v`'s first line, read at start
};

struct Settings {
    bool smoke = false;
    std::filesystem::path rdpbridge;
    std::filesystem::path work_dir;  // state dir, gateway logs; a fresh temp dir by default
    std::filesystem::path json_out;
    std::set<std::string> scenarios = {"relay",   "idle",    "handshake", "latency",
                                       "logging", "workers", "status"};
    double bound_seconds = 2;  // CPU time per in-process bound
    int nice = 0;              // for the bench and (inherited) the gateway; 0 leaves it alone
    HostTlsPolicy host;
    RelaySettings relay;
    IdleSettings idle;
    HandshakeSettings handshake;
    LatencySettings latency;
    LoggingSettings logging;
    StatusSettings status;
    HaproxySettings haproxy;

    void apply_smoke();  // seconds, not minutes: checks the instrument, asserts no time
};

}  // namespace rdpbridge::bench

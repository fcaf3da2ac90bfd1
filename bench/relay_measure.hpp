// One saturated relay measurement (bench/scenario_relay.cpp): sessions opened through a fresh
// gateway, a warm-up, then a window in which the relayed bytes and the gateway's CPU time are
// counted. The relay and workers scenarios both measure with it, and the relay scenario measures
// HAProxy with it too (its peers then speak bare TLS).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/fleet.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"

namespace rdpbridge::bench {

struct RelayMeasured {
    uint64_t down = 0, up = 0, pdus_down = 0, pdus_up = 0;
    double cpu = 0, wall = 0, load = 0;
    Negotiated suites;
    Json log;                 // the proxy's own account of the sessions (ProxyUnderTest)
    std::string config_file;  // HAProxy's
};

// One back leg: TLS (rdp_method 0) or Standard RDP Security with that encryption method.
struct RelayLeg {
    std::string id;  // "" for TLS, else "rdp_rc4_128" / "rdp_fips"
    uint32_t rdp_method = 0;
};

// The proxy relaying: rdpbridge, or HAProxy (TLS hosts only) with or without its tcplog.
struct RelayThrough {
    bool haproxy = false;
    bool haproxy_log = true;
};

// `workers`: the gateway's --workers (0: its default, one per CPU).
RelayMeasured measure_relay(const Bench& bench, std::size_t sessions, const RelayLeg& leg,
                            int workers = 0, RelayThrough through = {});

}  // namespace rdpbridge::bench

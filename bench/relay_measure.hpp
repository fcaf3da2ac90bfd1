// One saturated relay measurement (bench/scenario_relay.cpp): sessions opened through a fresh
// gateway, a warm-up, then a window in which the relayed bytes and the gateway's CPU time are
// counted. The relay and workers scenarios both measure with it, and the relay scenario measures
// HAProxy with it too (its peers then speak bare TLS), and rdpbridge with a channel policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/fleet.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"

namespace rdpbridge::bench {

struct RelayMeasured {
    uint64_t down = 0, up = 0, pdus_down = 0, pdus_up = 0;
    double cpu = 0, wall = 0, load = 0;
    Negotiated suites;
    Json log;                 // the proxy's own account of the sessions (ProxyUnderTest)
    std::string config_file;  // HAProxy's, or rdpbridge's when it ran from one
    Json channels;            // what the peers saw of the channels (instrument check)
};

// One back leg: TLS (rdp_method 0) or Standard RDP Security with that encryption method.
struct RelayLeg {
    std::string id;  // "" for TLS, else "rdp_rc4_128" / "rdp_fips"
    uint32_t rdp_method = 0;
};

// The proxy relaying: rdpbridge, or HAProxy (TLS hosts only) with or without its tcplog.
// `channel_policy`: rdpbridge with [backend.channels] deny = ["cliprdr"] and
// [backend.channels.devices] deny = ["drive"] (kPolicyChannels, kPolicyDevices): cliprdr is kept
// from the host, its join answered by the gateway, and the client's direction is read PDU by PDU
// for the whole session instead of relayed unparsed after the connect exchange.
struct RelayThrough {
    bool haproxy = false;
    bool haproxy_log = true;
    bool channel_policy = false;
};
inline const std::vector<std::string> kPolicyChannels = {"cliprdr"};
inline const std::vector<std::string> kPolicyDevices = {"drive"};

// What the peers send once the sessions are up: both directions saturated, or the client's
// direction alone (the host silent), where a channel policy's cost shows undiluted: input PDUs,
// each followed by rdpdr channel data (ClientProfile::rdpdr_data), so that the policy reads
// Send Data PDUs on a channel it filters as well as fast-path input.
enum class RelayTraffic { both, client_only };

// `workers`: the gateway's --workers (0: its default, one per CPU).
RelayMeasured measure_relay(const Bench& bench, std::size_t sessions, const RelayLeg& leg,
                            int workers = 0, RelayThrough through = {},
                            RelayTraffic traffic = RelayTraffic::both);

}  // namespace rdpbridge::bench

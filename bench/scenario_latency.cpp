// Scenario 4, added latency: many sessions each receiving a steady stream of timestamped output
// PDUs (1 MB/s by default). The host stamps each PDU as it writes it and the client measures
// on arrival; the same load run directly from client to host, in the same run, is the baseline
// whose percentiles are subtracted, leaving the time PDUs spend inside the gateway.
#include "bench/percentile.hpp"
#include "bench/proc_stats.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"

namespace rdpbridge::bench {

namespace {

struct Sampled {
    std::vector<int64_t> ns;
    double bytes_per_second_per_session = 0;
    double gateway_cores = 0;
    double open_seconds = 0;  // opening the sessions (their handshakes), 16 in flight
};

// Runs the probe load to `port` (the gateway, or the host itself when `direct`).
Sampled sample(const LatencySettings& s, Fleet& fleet, uint16_t port, bool direct,
               const GatewayProcess* gateway) {
    const auto opened = fleet.open(port, s.sessions, s.concurrency, {ClientMode::probe, 0}, direct);
    require_established(opened, s.sessions, fleet, direct ? "latency baseline" : "latency");
    measure_for(s.warmup_seconds);
    Sampled out;
    out.open_seconds = opened.seconds;
    const uint64_t bytes0 = fleet.tally().bytes_down;
    const double cpu0 = gateway ? cpu_seconds(gateway->pid()) : 0;
    fleet.start_recording();
    measure_for(s.seconds);
    out.ns = fleet.stop_recording();
    out.bytes_per_second_per_session =
        double(fleet.tally().bytes_down - bytes0) / s.seconds / double(s.sessions);
    if (gateway) {
        out.gateway_cores = (cpu_seconds(gateway->pid()) - cpu0) / s.seconds;
        gateway->check_alive();
    }
    if (fleet.tally().failed) throw std::runtime_error("latency: " + first_errors(fleet));
    fleet.close_all();
    return out;
}

double ms(int64_t ns) {
    return double(ns) / 1e6;
}

}  // namespace

void run_latency(const Bench& bench) {
    const auto& s = bench.settings.latency;
    Fleet fleet(bench.settings.host);
    const auto interval =
        std::chrono::nanoseconds(int64_t(double(s.output_pdu) / s.bytes_per_second * 1e9));
    fleet.set_host_profile({true, s.output_pdu, interval});

    const Sampled direct = sample(s, fleet, fleet.host_port(), true, nullptr);
    GatewayProcess gateway(bench.gateway("latency", fleet.host_port()));
    const Sampled via = sample(s, fleet, gateway.port(), false, &gateway);
    gateway.stop();

    // Latency under a load the peers could not even offer measures queueing in the bench, not
    // the gateway: such a run is reported but not judged.
    const double achieved =
        std::min(direct.bytes_per_second_per_session, via.bytes_per_second_per_session) /
        s.bytes_per_second;
    const bool valid = achieved >= s.min_achieved;
    for (double p : {0.50, 0.99}) {
        const int64_t base = percentile(direct.ns, p);
        const int64_t with = percentile(via.ns, p);
        const std::string name = p == 0.5 ? "p50" : "p99";
        Row row;
        row.id = "latency." + name;
        row.figure = "latency " + name + " added by the gateway, " + std::to_string(s.sessions) +
                     " sessions × " + std::to_string(int(s.bytes_per_second / 1e3)) + " kB/s";
        row.value = ms(with - base);
        row.unit = "ms";
        row.bound = 1.0;
        row.bound_what = "issue limit";
        row.ratio = row.value / row.bound;
        if (p == 0.99) {
            row.target = valid ? "≤ 100 %" : "void: load not reached";
            if (valid) row.met = row.ratio <= 1.0;
        }
        row.details = {{"through_gateway_ms", ms(with)},
                       {"direct_ms", ms(base)},
                       {"samples_through_gateway", via.ns.size()},
                       {"samples_direct", direct.ns.size()},
                       {"pdu_bytes", s.output_pdu},
                       {"achieved_bytes_per_s_per_session", via.bytes_per_second_per_session},
                       {"direct_bytes_per_s_per_session", direct.bytes_per_second_per_session},
                       {"gateway_cores_used", via.gateway_cores},
                       // The handshakes' wall time: the same sessions opened straight to the
                       // host and through the gateway (X.224, TLS on both legs, MCS exchange).
                       {"handshakes_open_seconds_direct", direct.open_seconds},
                       {"handshakes_open_seconds_through_gateway", via.open_seconds},
                       {"offered_load_reached", achieved},
                       {"load_average_1m", load_average()}};
        bench.report.add(std::move(row));
    }
}

}  // namespace rdpbridge::bench

// Scenario: every core ([service] workers). The same handshake churn and the same saturated relay
// through a gateway with one worker loop, then with one per core. Two figures each:
//   - per gateway CPU-second, the second run over the first: spreading sessions over loops must
//     cost nothing (locks, hand-overs), so within 10 % of each other;
//   - the cores the gateway used in the second run (CPU-seconds per wall-second): above 1 shows
//     the loops run in parallel.
// The peers run in this process, on the same cores. In the handshake runs the synthetic host has
// a 1024-bit RSA key, so that its side of each handshake is cheap next to the gateway's RSA-2048
// signature and the gateway can be the one that saturates the machine. The relay's peers do as
// much record cryptography as the gateway, so on a 2-core machine they hold it near one core.
#include <algorithm>
#include <thread>

#include "bench/proc_stats.hpp"
#include "bench/relay_measure.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"

namespace rdpbridge::bench {

namespace {

struct Run {
    double work = 0;  // sessions, or bytes relayed
    double cpu = 0;   // gateway CPU-seconds
    double wall = 0;  // seconds
    double per_cpu() const { return work / cpu; }
    double cores() const { return cpu / wall; }
};

Run handshakes(const Bench& bench, int workers, std::size_t in_flight) {
    const auto& s = bench.settings.handshake;
    HostTlsPolicy cheap_host = bench.settings.host;
    cheap_host.key_bits = 1024;
    Fleet fleet(cheap_host);
    auto launch =
        bench.gateway("workers-" + std::to_string(workers) + "-handshake", fleet.host_port());
    launch.workers = workers;
    GatewayProcess gateway(launch);
    fleet.set_host_profile({false, 0, {}});
    const double cpu0 = cpu_seconds(gateway.pid());
    const auto done = fleet.churn(gateway.port(), in_flight, s.max_sessions,
                                  std::chrono::duration<double>(s.seconds));
    const double cpu = cpu_seconds(gateway.pid()) - cpu0;
    gateway.check_alive();
    if (done.failed || done.established == 0)
        throw std::runtime_error("workers handshake: " + std::to_string(done.failed) + " failed, " +
                                 std::to_string(done.established) + " done (" +
                                 first_errors(fleet) + ")");
    fleet.close_all();
    gateway.stop();
    return {double(done.established), cpu, done.seconds};
}

Run relay(const Bench& bench, int workers, std::size_t sessions) {
    const RelayMeasured m = measure_relay(bench, sessions, {}, workers);
    return {double(m.down + m.up), m.cpu, m.wall};
}

Json describe(const Run& r, const char* work) {
    return {{work, r.work},
            {"gateway_cpu_seconds", r.cpu},
            {"seconds", r.wall},
            {"gateway_cores_used", r.cores()}};
}

// `judge_cores`: whether "more than one core" is this figure's target, or only reported.
void add_rows(const Bench& bench, const std::string& what, const std::string& unit, const Run& one,
              const Run& all, int cores, const char* work, double scale, bool judge_cores) {
    const Json details = {{"workers_1", describe(one, work)},
                          {"workers_" + std::to_string(cores), describe(all, work)},
                          {"load_average_1m", load_average()}};
    Row per_cpu;
    per_cpu.id = "workers." + what + ".per_cpu";
    per_cpu.figure = what + " per gateway CPU-second, " + std::to_string(cores) + " workers over 1";
    per_cpu.value = all.per_cpu() / scale;
    per_cpu.unit = unit;
    per_cpu.bound = one.per_cpu() / scale;
    per_cpu.bound_what = "the same, 1 worker, same run";
    per_cpu.ratio = all.per_cpu() / one.per_cpu();
    per_cpu.target = "90..110 %";
    per_cpu.met = per_cpu.ratio >= 0.9 && per_cpu.ratio <= 1.1;
    per_cpu.details = details;
    bench.report.add(per_cpu);

    Row cores_used;
    cores_used.id = "workers." + what + ".cores_used";
    cores_used.figure =
        what + ": cores the gateway used with " + std::to_string(cores) + " workers (CPU-s per s)";
    cores_used.value = all.cores();
    cores_used.unit = "cores";
    cores_used.bound = 1;
    cores_used.bound_what = "one core";
    cores_used.ratio = all.cores();
    if (judge_cores) {
        cores_used.target = "> 100 %";
        cores_used.met = all.cores() > 1.0;
    }
    cores_used.details = details;
    bench.report.add(cores_used);
}

}  // namespace

void run_workers(const Bench& bench) {
    const int cores = std::max(2, int(std::thread::hardware_concurrency()));
    // The same offered load in both runs, enough that each loop of the second always has
    // handshakes to work on: with 8 per loop, loops that keep running dry pay for going idle
    // and being woken (in a VM, about a seventh more CPU per handshake on 2 cores).
    const std::size_t in_flight =
        std::max<std::size_t>(bench.settings.handshake.concurrency, 16 * std::size_t(cores));
    const Run hs_one = handshakes(bench, 1, in_flight);
    const Run hs_all = handshakes(bench, cores, in_flight);
    add_rows(bench, "handshakes", "/CPU-s", hs_one, hs_all, cores, "sessions", 1, true);
    // Saturated relay, one session per core. Its peers do as much record cryptography as the
    // gateway does, so on a machine this small they leave it about one core: reported only.
    const auto sessions = std::size_t(cores);
    const Run relay_one = relay(bench, 1, sessions);
    const Run relay_all = relay(bench, cores, sessions);
    add_rows(bench, "relay", "MB/CPU-s", relay_one, relay_all, cores, "bytes", 1e6, false);
}

}  // namespace rdpbridge::bench

// Scenario 3, handshake rate: sessions opened (X.224, TLS on both legs, MCS connect exchange)
// and closed, a fixed number in flight, compared with the signatures per second one core makes
// with the gateway's own front key; each full handshake needs exactly one. Measured with the
// RSA-2048 certificate the gateway generates, then with an ECDSA P-256 one given to it.
#include "bench/front_certificate.hpp"
#include "bench/proc_stats.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"
#include "bench/sign_bound.hpp"

namespace rdpbridge::bench {

namespace {

void measure(const Bench& bench, bool ecdsa) {
    const auto& s = bench.settings.handshake;
    Fleet fleet(bench.settings.host);
    auto launch = bench.gateway(ecdsa ? "handshake-ecdsa" : "handshake", fleet.host_port());
    // The generated key is read after the gateway ran: it makes one in the state dir if needed.
    std::filesystem::path front_key = bench.state_dir() / "front-key.pem";
    if (ecdsa) {
        const auto files = write_ecdsa_front_certificate(bench.settings.work_dir / "ecdsa");
        launch.front_certificate = files.certificate;
        launch.front_key = front_key = files.private_key;
    }
    GatewayProcess gateway(launch);
    fleet.set_host_profile({false, 0, {}});

    const double cpu0 = cpu_seconds(gateway.pid());
    const auto done = fleet.churn(gateway.port(), s.concurrency, s.max_sessions,
                                  std::chrono::duration<double>(s.seconds));
    const double cpu = cpu_seconds(gateway.pid()) - cpu0;
    gateway.check_alive();
    if (done.failed || done.established == 0)
        throw std::runtime_error("handshake: " + std::to_string(done.failed) + " failed, " +
                                 std::to_string(done.established) + " done (" +
                                 first_errors(fleet) + ")");
    const auto suites = fleet.negotiated();
    fleet.close_all();
    gateway.stop();

    const auto sign = sign_bound(front_key, bench.settings.bound_seconds);
    const double rate = double(done.established) / done.seconds;
    const double per_cpu = double(done.established) / cpu;
    Json details = {{"sessions", done.established},
                    {"load_average_1m", load_average()},
                    {"seconds", done.seconds},
                    {"in_flight", s.concurrency},
                    {"gateway_cpu_seconds", cpu},
                    {"gateway_cores_used", cpu / done.seconds},
                    {"front_key", sign.key},
                    {"signature_scheme", sign.scheme},
                    {"front", suites.client_version + " " + suites.client_cipher},
                    {"back", suites.host_version + " " + suites.host_cipher}};

    const std::string id = ecdsa ? "handshake.ecdsa." : "handshake.";
    const std::string label = ecdsa ? "handshakes, ECDSA P-256 front" : "handshakes";
    Row wall;
    wall.id = id + "rate";
    wall.figure = label + ": sessions per second (wall clock)";
    wall.value = rate;
    wall.unit = "/s";
    wall.bound = sign.ops_per_cpu_second;
    wall.bound_what = sign.key + " signs, 1 core";
    wall.ratio = rate / sign.ops_per_cpu_second;
    wall.target = "≥ 50 %";
    wall.met = wall.ratio >= 0.5;
    wall.details = details;
    bench.report.add(wall);

    // The same per CPU-second the gateway actually got: on a small machine the synthetic peers
    // (whose host side does an RSA decryption per session) compete with it for cores.
    Row cpu_row = wall;
    cpu_row.id = id + "per_cpu";
    cpu_row.figure = label + ": sessions per gateway CPU-second";
    cpu_row.value = per_cpu;
    cpu_row.unit = "/CPU-s";
    cpu_row.ratio = per_cpu / sign.ops_per_cpu_second;
    cpu_row.met = cpu_row.ratio >= 0.5;
    bench.report.add(cpu_row);
}

}  // namespace

void run_handshake(const Bench& bench) {
    for (const std::string& key : bench.settings.handshake.front_keys)
        measure(bench, key == "ecdsa");
}

}  // namespace rdpbridge::bench

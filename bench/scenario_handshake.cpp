// Scenario 3, handshake rate: sessions opened (X.224, TLS on both legs, MCS connect exchange)
// and closed, a fixed number in flight, compared with the signatures per second one core makes
// with the gateway's own front key; each full handshake needs exactly one. Measured with the
// RSA-2048 certificate the gateway generates, then with an ECDSA P-256 one given to it.
//
// Beside HAProxy, in the same run and with the RSA front key: the same churn through rdpbridge
// with [backend.tls] resume = false against HAProxy with no-ssl-reuse (every back leg a full
// TLS 1.0 handshake), and rdpbridge's default (resume) against HAProxy's default (ssl-reuse),
// per CPU-second of each proxy. HAProxy's peers speak bare TLS (it cannot speak X.224).
#include <optional>
#include <vector>

#include "bench/front_certificate.hpp"
#include "bench/proc_stats.hpp"
#include "bench/proxy_under_test.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"
#include "bench/sign_bound.hpp"

namespace rdpbridge::bench {

namespace {

// One churn through one proxy.
struct Churned {
    std::size_t sessions = 0;
    double seconds = 0;
    double cpu = 0;  // the proxy's CPU-seconds
    double load = 0;
    Tally tally;
    Negotiated suites;
    Json log;  // the proxy's own account of the sessions
    std::string config_file;

    std::vector<double> round_rates;  // sessions per CPU-second of each pooled run

    double per_cpu() const { return double(sessions) / cpu; }
    // Another run of the same proxy and configuration: counts add up, the last run's
    // descriptions (suites, log, config) stand for all.
    void pool(const Churned& run) {
        if (sessions == 0 && round_rates.empty()) {
            *this = run;
            round_rates = {run.per_cpu()};
            return;
        }
        sessions += run.sessions;
        seconds += run.seconds;
        cpu += run.cpu;
        load = run.load;
        tally.host_tls_handshakes += run.tally.host_tls_handshakes;
        tally.host_resumed += run.tally.host_resumed;
        suites = run.suites;
        log = run.log;
        config_file = run.config_file;
        round_rates.push_back(run.per_cpu());
    }
    double resumed_share() const {
        return tally.host_tls_handshakes
                   ? double(tally.host_resumed) / double(tally.host_tls_handshakes)
                   : 0.0;
    }
};

Churned churn(const Bench& bench, Fleet& fleet, ProxyUnderTest& proxy) {
    const auto& s = bench.settings.handshake;
    HostProfile host;
    host.x224 = proxy.x224();
    fleet.set_host_profile(host);
    const double cpu0 = cpu_seconds(proxy.pid());
    const auto done = fleet.churn(proxy.port(), s.concurrency, s.max_sessions,
                                  std::chrono::duration<double>(s.seconds), proxy.x224());
    Churned c;
    c.cpu = cpu_seconds(proxy.pid()) - cpu0;
    proxy.check_alive();
    if (done.failed || done.established == 0)
        throw std::runtime_error(
            std::string("handshake through ") + proxy.what() + ": " + std::to_string(done.failed) +
            " failed, " + std::to_string(done.established) + " done (" + first_errors(fleet) + ")");
    c.sessions = done.established;
    c.seconds = done.seconds;
    c.load = load_average();
    c.tally = fleet.tally();
    c.suites = fleet.negotiated();
    c.config_file = proxy.config_file();
    fleet.close_all();
    proxy.stop();
    c.log = proxy.log_summary();
    return c;
}

Json host_resumption(const Churned& c) {
    return {{"host_tls_handshakes", c.tally.host_tls_handshakes},
            {"host_resumed", c.tally.host_resumed},
            {"host_resumed_share", c.resumed_share()}};
}

Churned measure(const Bench& bench, bool ecdsa) {
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
    ProxyUnderTest gateway(launch);
    const Churned done = churn(bench, fleet, gateway);
    const double cpu = done.cpu;

    const auto sign = sign_bound(front_key, bench.settings.bound_seconds);
    const double rate = double(done.sessions) / done.seconds;
    const double per_cpu = done.per_cpu();
    Json details = {{"sessions", done.sessions},
                    {"load_average_1m", load_average()},
                    {"seconds", done.seconds},
                    {"in_flight", s.concurrency},
                    {"gateway_cpu_seconds", cpu},
                    {"gateway_cores_used", cpu / done.seconds},
                    {"front_key", sign.key},
                    {"signature_scheme", sign.scheme},
                    {"front", done.suites.client_version + " " + done.suites.client_cipher},
                    {"back", done.suites.host_version + " " + done.suites.host_cipher},
                    {"gateway_log", done.log}};
    details.update(host_resumption(done));

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
    return done;
}

// rdpbridge with the RSA front key; `resume` unset: the quick start (resumption on).
Churned through_rdpbridge(const Bench& bench, const std::string& name, std::optional<bool> resume) {
    Fleet fleet(bench.settings.host);
    auto launch = bench.gateway(name, fleet.host_port());
    launch.backend_resume = resume;
    ProxyUnderTest gateway(launch);
    return churn(bench, fleet, gateway);
}

Churned through_haproxy(const Bench& bench, const std::string& name, bool reuse, bool log) {
    Fleet fleet(bench.settings.host);
    ProxyUnderTest haproxy(bench.haproxy(name, fleet.host_port(), reuse, log));
    return churn(bench, fleet, haproxy);
}

Json describe(const Churned& c) {
    Json j = {{"sessions", c.sessions},
              {"seconds", c.seconds},
              {"cpu_seconds", c.cpu},
              {"cores_used", c.cpu / c.seconds},
              {"sessions_per_second", double(c.sessions) / c.seconds},
              {"sessions_per_cpu_second", c.per_cpu()},
              {"load_average_1m", c.load},
              {"rounds", c.round_rates.size()},
              {"sessions_per_cpu_second_each_round", c.round_rates},
              {"front", c.suites.client_version + " " + c.suites.client_cipher},
              {"back", c.suites.host_version + " " + c.suites.host_cipher},
              {"log", c.log}};
    j.update(host_resumption(c));
    if (!c.config_file.empty()) j["config_file"] = c.config_file;
    return j;
}

void add_comparison(const Bench& bench, bool reuse, const Churned& ours, const Churned& theirs,
                    const std::optional<Churned>& theirs_unlogged) {
    const auto& h = bench.settings.haproxy;
    const bool logged = h.log != "off";
    Row row;
    row.id = std::string("handshake.vs_haproxy.") + (reuse ? "reuse" : "no_reuse");
    row.figure = std::string("handshakes vs HAProxy, back legs ") +
                 (reuse ? "resumed (both default)" : "never resumed") + ": sessions per CPU-s";
    row.value = ours.per_cpu();
    row.unit = "/CPU-s";
    row.bound = theirs.per_cpu();
    row.bound_what = std::string("HAProxy, ") + (reuse ? "ssl-reuse" : "no-ssl-reuse") +
                     (logged ? ", tcplog" : ", no log");
    row.ratio = row.value / row.bound;
    row.target = "≥ 1.0×";
    row.met = row.ratio >= 1.0;
    Json rdpbridge = describe(ours);
    rdpbridge["config"] = reuse ? "quick start ([backend.tls] resume = true, the default)"
                                : "[backend.tls] resume = false";
    rdpbridge["peers"] = "X.224, TLS 1.3 front, TLS 1.0 back, MCS connect exchange";
    Json haproxy = describe(theirs);
    haproxy["version"] = h.version;
    haproxy["config"] = std::string(reuse ? "ssl-reuse (default)" : "no-ssl-reuse") + ", " +
                        (logged ? "option tcplog, log stdout (one line per session)" : "no log");
    haproxy["peers"] = "bare TLS (no X.224), TLS 1.3 front, TLS 1.0 back, MCS connect exchange";
    haproxy["threads"] = usable_cpus();
    row.details = {{"in_flight", bench.settings.handshake.concurrency},
                   {"front_key", "rdpbridge's generated RSA-2048 (front-cert.pem), both"},
                   {"rdpbridge", rdpbridge},
                   {"haproxy", haproxy}};
    if (theirs_unlogged) {
        Json unlogged = describe(*theirs_unlogged);
        unlogged["ratio"] = ours.per_cpu() / theirs_unlogged->per_cpu();
        row.details["haproxy_without_log"] = unlogged;
    }
    bench.report.add(std::move(row));
}

// (c) is rdpbridge's default run, already measured for the rows above: the first round's;
// (a), (b), (d) follow, and every further round runs all four again in the same order.
void compare_with_haproxy(const Bench& bench, const Churned& rdpbridge_resuming) {
    const std::string& log = bench.settings.haproxy.log;
    const bool logged = log != "off";
    Churned rdpbridge_full, haproxy_full, rdpbridge_resume, haproxy_reuse;
    std::optional<Churned> haproxy_full_unlogged, haproxy_reuse_unlogged;
    for (std::size_t round = 0; round < bench.settings.haproxy.rounds; ++round) {
        rdpbridge_full.pool(through_rdpbridge(bench, "handshake-no-resume", false));
        haproxy_full.pool(through_haproxy(bench, "handshake-no-reuse", false, logged));
        rdpbridge_resume.pool(round == 0 ? rdpbridge_resuming
                                         : through_rdpbridge(bench, "handshake", {}));
        haproxy_reuse.pool(through_haproxy(bench, "handshake-reuse", true, logged));
        if (log == "both") {
            if (!haproxy_full_unlogged) haproxy_full_unlogged.emplace();
            if (!haproxy_reuse_unlogged) haproxy_reuse_unlogged.emplace();
            haproxy_full_unlogged->pool(
                through_haproxy(bench, "handshake-no-reuse-nolog", false, false));
            haproxy_reuse_unlogged->pool(
                through_haproxy(bench, "handshake-reuse-nolog", true, false));
        }
    }
    add_comparison(bench, false, rdpbridge_full, haproxy_full, haproxy_full_unlogged);
    add_comparison(bench, true, rdpbridge_resume, haproxy_reuse, haproxy_reuse_unlogged);
}

}  // namespace

void run_handshake(const Bench& bench) {
    const bool haproxy = bench.settings.haproxy.enabled;
    bool compared = false;
    for (const std::string& key : bench.settings.handshake.front_keys) {
        const Churned done = measure(bench, key == "ecdsa");
        // Right after rdpbridge's own run, so that little drifts between the four.
        if (key == "rsa" && haproxy) {
            compare_with_haproxy(bench, done);
            compared = true;
        }
    }
    if (haproxy && !compared)
        compare_with_haproxy(bench, through_rdpbridge(bench, "handshake", {}));
}

}  // namespace rdpbridge::bench

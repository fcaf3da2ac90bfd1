// rdpbridge_bench: drives a real rdpbridge process with synthetic RDP clients and a synthetic
// Windows 7-like host on loopback, and reports each figure against a bound measured in the same
// run. See bench/README.md.
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "bench/fd_limit.hpp"
#include "bench/haproxy_process.hpp"
#include "bench/proc_stats.hpp"
#include "bench/report.hpp"
#include "bench/scenarios.hpp"
#include "bench/settings.hpp"

namespace {

using namespace rdpbridge::bench;

// $RDPBRIDGE_BIN, else the build tree's layout: build/bench/rdpbridge_bench -> build/rdpbridge.
std::filesystem::path default_gateway_binary() {
    if (const char* env = std::getenv("RDPBRIDGE_BIN"); env && *env) return env;
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path("rdpbridge") : self.parent_path().parent_path() / "rdpbridge";
}

std::filesystem::path fresh_work_dir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "rdpbridge-bench-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("cannot create a work directory");
    return pattern;
}

void add_options(CLI::App& app, Settings& s, std::vector<std::string>& only) {
    app.add_flag("--smoke", s.smoke, "Seconds-long run with small counts: checks the instrument");
    app.add_option("--rdpbridge", s.rdpbridge,
                   "rdpbridge binary (default $RDPBRIDGE_BIN, else ../rdpbridge next to this "
                   "binary's directory)");
    app.add_option("--json", s.json_out,
                   "Write the results as JSON here (default WORK_DIR/results.json)");
    app.add_option("--work-dir", s.work_dir,
                   "State dir and gateway logs (default: a new /tmp/rdpbridge-bench-*)");
    app.add_option("--only", only,
                   "Run only these scenarios: relay, idle, handshake, latency, logging, workers, "
                   "status")
        ->delimiter(',')
        ->check(CLI::IsMember(
            {"relay", "idle", "handshake", "latency", "logging", "workers", "status"}));
    app.add_option("--bound-seconds", s.bound_seconds, "CPU seconds per in-process bound");
    app.add_option("--nice", s.nice,
                   "Nice value for the bench and the gateway it starts (negative: root); on a "
                   "shared machine, keeps other work from dominating the latency percentiles");
    app.add_option("--host-ciphers", s.host.ciphers, "Synthetic host's TLS 1.0 cipher list");
    app.add_option("--host-key-bits", s.host.key_bits, "Synthetic host's RSA key size");
    app.add_option("--relay-sessions", s.relay.session_counts,
                   "Session counts for the relay (default: 1 and one per core)");
    app.add_option("--relay-seconds", s.relay.seconds, "Relay measurement window");
    app.add_option("--relay-output-pdu", s.relay.output_pdu,
                   "Host fast-path output PDU bytes (44..32767)");
    app.add_option("--relay-input-events", s.relay.input_events,
                   "Mouse events per client input PDU (0..255; 0: no input)");
    app.add_option("--relay-rdp", s.relay.rdp_legs,
                   "Standard RDP Security back legs to relay through, one session each "
                   "(rc4-128, fips; none: only TLS)")
        ->check(CLI::IsMember({"rc4-128", "fips", "none"}));
    app.add_flag_callback(
        "--no-relay-policy", [&s] { s.relay.channel_policy = false; },
        "Relay without the channel policy variant (TLS to TLS with [backend.channels] deny = "
        "[\"cliprdr\"], devices deny = [\"drive\"], reported over the figure without)");
    app.add_option("--relay-policy-rounds", s.relay.policy_rounds,
                   "Relay channel policy variant: alternate with and without it this many times "
                   "and pool each one's bytes and CPU-seconds (--smoke: 1)")
        ->check(CLI::PositiveNumber);
    app.add_option("--idle-sessions", s.idle.sessions, "Idle sessions to hold");
    app.add_option("--idle-seconds", s.idle.seconds, "Idle CPU measurement window");
    app.add_option("--handshake-seconds", s.handshake.seconds, "Handshake measurement window");
    app.add_option("--handshake-concurrency", s.handshake.concurrency, "Handshakes in flight");
    app.add_option("--handshake-front-key", s.handshake.front_keys,
                   "Front keys to measure: rsa (generated RSA-2048), ecdsa (P-256 given as "
                   "[listener.tls])")
        ->check(CLI::IsMember({"rsa", "ecdsa"}));
    app.add_option("--latency-sessions", s.latency.sessions, "Sessions for the latency scenario");
    app.add_option("--latency-rate", s.latency.bytes_per_second,
                   "Bytes per second per latency session");
    app.add_option("--latency-pdu", s.latency.output_pdu,
                   "Output PDU bytes in the latency scenario");
    app.add_option("--latency-seconds", s.latency.seconds, "Latency measurement window");
    app.add_option("--logging-seconds", s.logging.seconds,
                   "Logging scenario: each relay window (baseline, then under the flood)");
    app.add_option("--logging-flood", s.logging.flood_connections,
                   "Logging scenario: garbage connections in the flood (2 log events each)");
    app.add_option("--logging-concurrency", s.logging.flood_concurrency,
                   "Logging scenario: flood connections open at once, at most");
    app.add_option("--status-events", s.status.events,
                   "Status scenario: events in the synthetic 7-day handshake log (--smoke: 2000)");
    app.add_flag_callback(
        "--no-haproxy", [&s] { s.haproxy.enabled = false; },
        "Skip the comparison with HAProxy in the handshake and relay scenarios");
    app.add_option("--haproxy", s.haproxy.binary,
                   "HAProxy binary the handshake and relay scenarios compare with (default "
                   "/usr/sbin/haproxy: apt-get install haproxy)");
    app.add_option("--haproxy-log", s.haproxy.log,
                   "HAProxy's connection log (option tcplog to stdout, one line per session, as "
                   "rdpbridge logs every handshake): on, off, or both (measured with it, and "
                   "once more without it for the details)")
        ->check(CLI::IsMember({"on", "off", "both"}));
    app.add_option("--haproxy-rounds", s.haproxy.rounds,
                   "Handshake comparison: alternate rdpbridge and HAProxy this many times and pool "
                   "each one's sessions and CPU-seconds (--smoke: 1)")
        ->check(CLI::PositiveNumber);
}

Json context(const Settings& s, const FdLimit& fds) {
    return {{"smoke", s.smoke},
            {"cores", std::thread::hardware_concurrency()},
            {"load_average_1m_at_start", load_average()},
            {"openssl", OPENSSL_VERSION_TEXT},
            {"rdpbridge", s.rdpbridge.string()},
            {"work_dir", s.work_dir.string()},
            {"fd_limit_soft", fds.soft},
            {"nice", s.nice},
            {"fd_limit_hard", fds.hard},
            {"haproxy", s.haproxy.enabled ? Json(s.haproxy.version) : Json(nullptr)}};
}

}  // namespace

int main(int argc, char** argv) {
    Settings settings;
    std::vector<std::string> only;
    CLI::App app{
        "Drives rdpbridge to its limits on loopback and reports each figure against a "
        "bound measured in the same run; the handshake and relay scenarios also run through "
        "HAProxy (/usr/sbin/haproxy) and report the two side by side."};
    add_options(app, settings, only);
    CLI11_PARSE(app, argc, argv);

    try {
        if (settings.smoke) {
            const auto keep = settings.relay.session_counts;
            settings.apply_smoke();
            if (!keep.empty()) settings.relay.session_counts = keep;
        }
        if (!only.empty()) settings.scenarios = {only.begin(), only.end()};
        if (settings.relay.session_counts.empty())
            settings.relay.session_counts = {1, std::max(1u, std::thread::hardware_concurrency())};
        if (settings.rdpbridge.empty()) settings.rdpbridge = default_gateway_binary();
        if (settings.work_dir.empty()) settings.work_dir = fresh_work_dir();
        if (settings.json_out.empty()) settings.json_out = settings.work_dir / "results.json";
        // Missing HAProxy fails the run at once, with the apt-get hint, not minutes later.
        if (settings.haproxy.enabled &&
            (settings.scenarios.count("handshake") || settings.scenarios.count("relay")))
            settings.haproxy.version = haproxy_version(settings.haproxy.binary);
        else
            settings.haproxy.enabled = false;
        // A peer that closes while we write must fail that write, not kill the bench.
        signal(SIGPIPE, SIG_IGN);
        const FdLimit fds = raise_fd_limit();
        if (settings.nice != 0 && setpriority(PRIO_PROCESS, 0, settings.nice) != 0)
            throw std::runtime_error("setpriority: " + std::string(std::strerror(errno)));

        Report report;
        report.set_context(context(settings, fds));
        const Bench bench{settings, fds, report};
        const std::pair<const char*, void (*)(const Bench&)> scenarios[] = {
            {"relay", run_relay},     {"idle", run_idle},       {"handshake", run_handshake},
            {"latency", run_latency}, {"logging", run_logging}, {"workers", run_workers},
            {"status", run_status}};
        for (const auto& [name, run] : scenarios) {
            if (!settings.scenarios.count(name)) continue;
            std::cerr << "bench: " << name << "...\n";
            try {
                run(bench);
            } catch (const std::exception& e) {
                report.fail(name, e.what());
            }
        }
        if (settings.smoke) report.drop_verdicts();
        report.print(std::cout);
        report.write(settings.json_out);
        std::cout << "JSON: " << settings.json_out.string() << "\n"
                  << "gateway logs: " << (settings.work_dir / "logs").string() << "\n";
        return report.instrument_ok() ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "rdpbridge_bench: " << e.what() << "\n";
        return 1;
    }
}

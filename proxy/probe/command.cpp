#include "proxy/probe/command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "config/load.hpp"
#include "proxy/probe/probe.hpp"
#include "proxy/probe/report.hpp"

namespace rdpbridge::probe {

namespace {

constexpr const char* kFooter = R"(
Opens a bounded number of short connections (about 10 plus one per accepted TLS cipher suite),
sends no credentials and never logs in: X.224 requests for each security layer, TLS handshakes
per version and suite, and MCS Connect Initials for Standard RDP Security, nothing further.

Exit codes: 0 an RDP host answered (the report says how well it fares), 1 unreachable (DNS
failure, connection refused or timed out), 2 usage error, 4 reachable but not RDP (another
service, or one that accepts TCP and never answers).

--timeout bounds every single step (TCP connect, an answer, a TLS handshake); the whole probe
starts no new connection after 6 x --timeout (at least 10 s).

Examples:
  rdpbridge probe 192.0.2.7
  rdpbridge probe plc7.plant.example:3390 --json --sni plc7.plant.example > plc7.json)";

}  // namespace

CLI::App* add_command(CLI::App& app, Options& o) {
    auto* cmd = app.add_subcommand(
        "probe",
        "Fingerprint a legacy RDP host (security layers, TLS versions and suites, certificate, "
        "Standard RDP Security, NLA) and print the [[backend]] profile that reaches it.");
    cmd->footer(kFooter);
    cmd->add_option("target", o.target, "HOST[:PORT] (port 3389 by default)")->required();
    cmd->add_option("--timeout", o.timeout_seconds, "Seconds any single step may wait (default 5)")
        ->check(CLI::Range(0.1, 600.0));
    cmd->add_flag("--json", o.json,
                  "Print one JSON document (schema rdpbridge.probe/1, see docs/probe.md)");
    cmd->add_option("--sni", o.sni, "Server name to send in the TLS ClientHello");
    return cmd;
}

int run(const Options& o) {
    const auto endpoint = config::parse_endpoint(o.target, 3389);
    if (!endpoint || endpoint->port == 0 || endpoint->host.empty()) {
        std::cerr << "rdpbridge probe: \"" << o.target
                  << "\" is not HOST[:PORT] (e.g. 192.0.2.7, host.example:3390, [2001:db8::7])\n";
        return kExitUsage;
    }
    const Target target{endpoint->host, endpoint->port, o.sni};
    const auto step = Millis(static_cast<long>(o.timeout_seconds * 1000));
    const Findings findings = run_probe(target, step);
    std::cout << (o.json ? json_report(findings) : human_report(findings)) << std::flush;
    return exit_code(findings);
}

}  // namespace rdpbridge::probe

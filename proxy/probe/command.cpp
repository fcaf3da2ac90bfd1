#include "proxy/probe/command.hpp"

#include <CLI/CLI.hpp>
#include <iostream>
#include <optional>
#include <variant>
#include <vector>

#include "config/load.hpp"
#include "proxy/probe/probe.hpp"
#include "proxy/probe/report.hpp"
#include "proxy/probe/trust_record.hpp"
#include "proxy/trust/known_hosts.hpp"

namespace rdpbridge::probe {

namespace {

constexpr const char* kFooter = R"(
Opens a bounded number of short connections (about 10 plus one per accepted TLS cipher suite),
sends no credentials and never logs in: X.224 requests for each security layer, TLS handshakes
per version and suite, and MCS Connect Initials for Standard RDP Security, nothing further.

The report ends its findings with the host's identity: its TLS certificate's SHA-256, that
certificate's key (SPKI) SHA-256 and its Standard RDP Security key's SHA-256, labelled as
`rdpbridge hosts show` prints them. --trust NAME records them (and the layers seen) in the
known-hosts store as backend NAME's trusted identity, as the gateway's first contact would
with verify = "tofu"; check them on the host first.

Exit codes: 0 an RDP host answered (the report says how well it fares), 1 unreachable (DNS
failure, connection refused or timed out), 2 usage error, 3 --trust could not record (invalid
configuration, store unreadable or unwritable, nothing seen to record), 4 reachable but not
RDP (another service, or one that accepts TCP and never answers).

--timeout bounds every single step (TCP connect, an answer, a TLS handshake); the whole probe
starts no new connection after 6 x --timeout (at least 10 s).

Examples:
  rdpbridge probe 192.0.2.7
  rdpbridge probe plc7.plant.example:3390 --json --sni plc7.plant.example > plc7.json
  rdpbridge probe 192.0.2.7 --trust plc7 -c /etc/rdpbridge/rdpbridge.toml)";

void print_errors(const std::vector<std::string>& messages) {
    for (const auto& m : messages) std::cerr << "rdpbridge probe --trust: " << m << "\n";
}

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
    auto* trust = cmd->add_option("--trust", o.trust,
                                  "Record the fingerprints and layers seen as the trusted identity "
                                  "of backend NAME in the known-hosts store (needs -c or "
                                  "--state-dir)");
    trust->type_name("NAME");
    auto* config = cmd->add_option("-c,--config", o.config_file,
                                   "With --trust: the gateway's config file; the store is its "
                                   "known_hosts, and backend NAME's address must be the one probed")
                       ->check(CLI::ExistingFile);
    auto* state = cmd->add_option("--state-dir", o.state_dir,
                                  "With --trust: the gateway's state directory (instead of -c)");
    config->excludes(state);
    config->needs(trust);
    state->needs(trust);
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
    std::optional<TrustTarget> trust;
    if (!o.trust.empty()) {
        if (o.config_file.empty() && o.state_dir.empty()) {
            std::cerr << "rdpbridge probe: --trust needs -c CONFIG or --state-dir DIR (where the "
                         "known-hosts store is)\n";
            return kExitUsage;
        }
        auto prepared = prepare_trust(o.trust, target, o.config_file, o.state_dir);
        if (auto* error = std::get_if<TrustError>(&prepared)) {
            print_errors(error->messages);
            return kExitTrustFailed;
        }
        trust = std::get<TrustTarget>(std::move(prepared));
    }

    const auto step = Millis(static_cast<long>(o.timeout_seconds * 1000));
    Findings findings = run_probe(target, step);
    if (trust) findings.channel_policy = trust->channel_policy;
    int code = exit_code(findings);
    std::vector<std::string> trust_errors;
    if (trust && findings.reach == Reach::rdp) {
        try {
            findings.trusted = record_trust(*trust, findings);
        } catch (const proxy::trust::StoreError& e) {
            trust_errors.push_back(std::string(e.what()) + "; nothing recorded");
        } catch (const std::invalid_argument& e) {
            trust_errors.push_back(std::string(e.what()));
        }
        if (!trust_errors.empty()) code = kExitTrustFailed;
    } else if (trust) {
        trust_errors.push_back("no RDP host answered at " + trust->address +
                               ": nothing recorded for backend \"" + trust->backend + "\"");
    }
    std::cout << (o.json ? json_report(findings) : human_report(findings)) << std::flush;
    print_errors(trust_errors);
    if (findings.trusted)
        for (const auto& note : trust->notes)
            std::cerr << "rdpbridge probe --trust: note: " << note << "\n";
    return code;
}

}  // namespace rdpbridge::probe

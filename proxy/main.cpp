// rdpbridge's command line. Exit codes (also in README and --help):
//   0 success; 1 runtime failure (cannot listen, certificate problem);
//   2 usage error; 3 configuration invalid.
#include <pwd.h>
#include <unistd.h>

#include <openssl/pem.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "config/channel_policy.hpp"
#include "config/load.hpp"
#include "proxy/gateway.hpp"
#include "proxy/logs/command.hpp"
#include "proxy/preflight.hpp"
#include "proxy/probe/command.hpp"
#include "proxy/reload_command.hpp"
#include "proxy/trust/hosts_command.hpp"
#include "rdp/server_security.hpp"
#include "tls/certificate.hpp"
#include "tls/inspect.hpp"

namespace {

using namespace rdpbridge;

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConfig = 3;

constexpr const char* kFooter = R"(
Exit codes: 0 success, 1 runtime failure (cannot listen, certificate), 2 usage error,
3 invalid configuration (or, for `logs`, an input that is not a handshake log),
4 (`probe`) the host is reachable but does not speak RDP.

Examples:
  Put a hardened client in front of a Windows 7 host, no config file:
    rdpbridge run --listen 0.0.0.0:3389 --target 192.0.2.7
  Run from a config file (see deploy/rdpbridge.toml for every key, annotated):
    rdpbridge run --config /etc/rdpbridge/rdpbridge.toml
  Check a config file without starting:
    rdpbridge check-config /etc/rdpbridge/rdpbridge.toml)";

std::filesystem::path default_state_dir() {
    if (geteuid() == 0) return "/var/lib/rdpbridge";
    if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg)
        return std::filesystem::path(xdg) / "rdpbridge";
    if (const char* home = std::getenv("HOME"); home && *home)
        return std::filesystem::path(home) / ".local/state/rdpbridge";
    return "rdpbridge-state";
}

// Prints every error, one per line, and returns the config-invalid exit code.
int report(const std::vector<config::LoadError>& errors) {
    for (const auto& e : errors) std::cerr << "error: " << e.to_string() << "\n";
    std::cerr << errors.size() << " error(s); nothing was started.\n";
    return kExitConfig;
}

struct RunOptions {
    std::string config_file;
    config::QuickStart quick;
    std::string handshake_log;
    std::string state_dir;
    std::string log_level;
    std::optional<int> workers;
};

// What the command line sets over the file (or the quick start's defaults): applied at start
// and again to the file a reload reads, so that a reload never undoes a flag.
void apply_overrides(const RunOptions& o, config::Config& c) {
    if (!o.config_file.empty() && o.handshake_log == "-") c.logging.handshake_log.reset();
    if (!o.config_file.empty() && !o.handshake_log.empty() && o.handshake_log != "-")
        c.logging.handshake_log = o.handshake_log;
    if (!o.log_level.empty()) c.logging.level = o.log_level;
    if (o.workers) c.service.workers = *o.workers;
}

int run(const RunOptions& o) {
    config::LoadResult loaded;
    if (!o.config_file.empty()) {
        loaded = config::load_file(o.config_file);
    } else {
        config::QuickStart q = o.quick;
        if (!o.handshake_log.empty()) q.handshake_log = o.handshake_log;
        q.state_dir =
            o.state_dir.empty() ? default_state_dir() : std::filesystem::path(o.state_dir);
        loaded = config::from_quick_start(q);
    }
    if (auto* errors = std::get_if<std::vector<config::LoadError>>(&loaded)) return report(*errors);
    auto cfg = std::get<config::Config>(std::move(loaded));
    apply_overrides(o, cfg);
    // The same checks as check-config, reported the same way, before anything is opened.
    if (const auto checked = proxy::preflight(cfg, ""); !checked.errors.empty())
        return report(checked.errors);
    // SIGHUP reads the file again, with the same overrides and checks as this start.
    proxy::ConfigSource source;
    if (!o.config_file.empty()) {
        source = [o]() -> config::LoadResult {
            auto again = config::load_file(o.config_file);
            if (std::holds_alternative<std::vector<config::LoadError>>(again)) return again;
            auto& c = std::get<config::Config>(again);
            apply_overrides(o, c);
            if (auto checked = proxy::preflight(c, ""); !checked.errors.empty())
                return std::move(checked.errors);
            return again;
        };
    }
    try {
        return proxy::run_gateway(cfg, std::move(source));
    } catch (const std::exception& e) {
        std::cerr << "rdpbridge: " << e.what() << "\n";
        return kExitRuntime;
    }
}

// The unit runs the service as `rdpbridge`; check for that account where it exists.
std::string default_service_user() {
    return ::getpwnam("rdpbridge") ? "rdpbridge" : "";
}

int check_config(const std::string& file, std::string as_user) {
    auto loaded = config::load_file(file);
    if (auto* errors = std::get_if<std::vector<config::LoadError>>(&loaded)) return report(*errors);
    const auto& cfg = std::get<config::Config>(loaded);
    const auto checked = proxy::preflight(cfg, as_user);
    if (!checked.errors.empty()) return report(checked.errors);
    std::cout << file << ": OK — " << cfg.listeners.size() << " listener(s), "
              << cfg.backends.size() << " backend(s), " << cfg.routes.size() << " route(s)\n";
    for (const auto& l : cfg.listeners) {
        std::cout << "  listener " << l.name << ": NLA " << config::to_string(l.nla);
        if (l.nla_users) std::cout << " (users " << l.nla_users->string() << ")";
        std::cout << "\n";
    }
    for (const auto& b : cfg.backends) {
        std::cout << "  backend " << b.name << ": " << b.address.host << ":" << b.address.port
                  << ", security " << config::to_string(b.security);
        // An RDP-only backend never speaks TLS: its TLS range would only mislead.
        if (b.security != config::BackendSecurity::rdp) {
            std::cout << ", TLS " << config::to_string(b.tls.min_version) << ".."
                      << config::to_string(b.tls.max_version);
        }
        if (b.security != config::BackendSecurity::tls)
            std::cout << ", RDP security "
                      << rdp::encryption_methods_to_string(b.encryption_methods);
        std::cout << ", verify " << config::to_string(b.tls.verify);
        if (b.channels) std::cout << ", " << config::describe(*b.channels);
        std::cout << "\n";
    }
    for (const auto& r : cfg.routes) {
        if (!r.channels) continue;
        std::cout << "  route " << r.mstshash << " -> backend " << r.backend << ": "
                  << config::describe(*r.channels) << " (instead of the backend's)\n";
    }
    if (const auto& admin = cfg.admin; admin.bind) {
        std::cout << "  admin endpoint: http://" << config::to_string(*admin.bind) << ", "
                  << config::to_string(admin.access());
        if (const auto& file = admin.token_file ? admin.token_file : admin.basic_auth_file)
            std::cout << " (" << file->string() << ")";
        std::cout << "; /healthz and /readyz open to all\n";
    }
    std::cout << "checked:\n";
    for (const auto& c : checked.checked) std::cout << "  " << c << "\n";
    for (const auto& w : config::warnings(cfg)) std::cout << "warning: " << w << "\n";
    return 0;
}

}  // namespace

// What clients are asked to trust, without starting anything: each listener's certificate (the
// operator's, or the one generated into the state directory) with its SHA-256.
int show_certificates(const std::string& config_file, const std::string& state_dir) {
    std::vector<std::pair<std::string, std::filesystem::path>> certs;
    if (!config_file.empty()) {
        auto loaded = config::load_file(config_file);
        if (auto* errors = std::get_if<std::vector<config::LoadError>>(&loaded))
            return report(*errors);
        const auto& cfg = std::get<config::Config>(loaded);
        for (const auto& l : cfg.listeners)
            certs.emplace_back(
                l.name, l.tls.certificate.value_or(tls::generated_certificate_path(cfg.state_dir)));
    } else {
        certs.emplace_back("quickstart", tls::generated_certificate_path(
                                             state_dir.empty() ? default_state_dir()
                                                               : std::filesystem::path(state_dir)));
    }
    int code = 0;
    for (const auto& [listener, path] : certs) {
        std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "r"), std::fclose);
        std::unique_ptr<X509, void (*)(X509*)> cert(
            f ? PEM_read_X509(f.get(), nullptr, nullptr, nullptr) : nullptr, X509_free);
        const auto facts = tls::describe_certificate(cert.get());
        if (!facts) {
            std::cerr << "listener " << listener << ": no certificate at " << path.string()
                      << " (generated on the gateway's first start when none is configured)\n";
            code = kExitRuntime;
            continue;
        }
        std::cout << "listener " << listener << ": " << path.string() << "\n  subject "
                  << facts->subject << ", valid until " << facts->not_after << "\n  sha256 "
                  << facts->sha256 << "\n";
    }
    return code;
}

int main(int argc, char** argv) {
    CLI::App app{
        "rdpbridge — an RDP gateway that lets modern, hardened clients (TLS 1.2/1.3) reach legacy "
        "Windows hosts that only speak TLS 1.0 or Standard RDP Security, and explains every "
        "handshake that fails.",
        "rdpbridge"};
    app.footer(kFooter);
    app.require_subcommand(1);

    RunOptions o;
    auto* run_cmd = app.add_subcommand(
        "run", "Start the gateway, from a config file or from quick-start flags.");
    run_cmd->footer(
        "\nEither --config FILE, or --listen and --target for a single backend on embedded "
        "defaults:\n  front TLS 1.2+ with a self-signed certificate generated into the state "
        "directory,\n  backend TLS 1.0..1.3 at OpenSSL security level 0, the host's identity "
        "learnt on first use\n  (known_hosts.jsonl in the state directory; see `rdpbridge hosts "
        "--help`).\nThe handshake log (JSON Lines) explains every failed connection with a fix; "
        "a readable copy goes to stderr.");
    auto* cfg_opt = run_cmd->add_option("-c,--config", o.config_file, "TOML configuration file")
                        ->check(CLI::ExistingFile);
    auto* listen = run_cmd->add_option("--listen", o.quick.listen,
                                       "Quick start: address:port to accept clients on");
    auto* target = run_cmd->add_option("--target", o.quick.target,
                                       "Quick start: the legacy host, host[:port] (port 3389)");
    auto* security =
        run_cmd
            ->add_option("--backend-security", o.quick.backend_security,
                         "Quick start: what to speak to the host: auto (offer TLS, settle on "
                         "what it answers), tls, or rdp")
            ->check(CLI::IsMember({"auto", "tls", "rdp"}));
    run_cmd->add_option("--handshake-log", o.handshake_log,
                        "Write the JSON Lines handshake log to this file (quick start default: "
                        "handshake.jsonl in the state directory; \"-\" for none)");
    auto* state = run_cmd->add_option(
        "--state-dir", o.state_dir,
        "Quick start: where the generated front certificate is kept (default /var/lib/rdpbridge "
        "as root, else ~/.local/state/rdpbridge)");
    auto* nla_users = run_cmd->add_option(
        "--nla-users", o.quick.nla_users,
        "Quick start: offer Network Level Authentication (CredSSP) to clients and log them on "
        "to the host with the password they delegate; FILE lists who may log on, one "
        "DOMAIN:USER:PASSWORD per line, mode 0600 (needs the gss-ntlmssp package)");
    auto* admin = run_cmd->add_option(
        "--admin", o.quick.admin,
        "Quick start: serve GET /metrics (Prometheus), /healthz and /readyz over HTTP on this "
        "ADDR:PORT, a loopback address such as 127.0.0.1:9389 (the flags give no credentials; "
        "a config file's [admin] token_file or basic_auth_file allows any address)");
    run_cmd
        ->add_option("--workers", o.workers,
                     "Event loops (threads) that run sessions; overrides [service] workers. "
                     "Default: one per CPU (0)")
        ->check(CLI::Range(0, 256));
    run_cmd->add_option("--log-level", o.log_level, "trace, debug, info (default), warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    listen->excludes(cfg_opt);
    target->excludes(cfg_opt);
    security->excludes(cfg_opt);
    state->excludes(cfg_opt);
    nla_users->excludes(cfg_opt);
    admin->excludes(cfg_opt);
    listen->needs(target);
    target->needs(listen);

    std::string check_file;
    std::string check_user = default_service_user();
    auto* check_cmd = app.add_subcommand(
        "check-config", "Validate a configuration file and print what it defines; starts nothing.");
    check_cmd->add_option("file", check_file, "TOML configuration file")->required();
    check_cmd->add_option("--as-user", check_user,
                          "Check file access for this account (default: rdpbridge, the unit's "
                          "user, where it exists; else you)");
    check_cmd->footer(R"(
Reads the file as `rdpbridge run --config FILE` would and checks everything run would refuse,
short of binding: certificates and keys load and match, every TLS context builds (versions,
ciphers, security level, CA files), listeners do not collide, files the service reads exist,
are private where they hold secrets and are readable by the service's user (--as-user), and the
state and log directories are writable by it. Every error at once, each with file:line, the key
and the fix; then what the file defines, what was checked, and any warning (settings that are
valid but probably not meant, e.g. verify = "off"). `run` refuses to start on the same errors.

Exit codes: 0 valid (warnings included), 2 usage error, 3 invalid configuration.

Example (the systemd unit runs this as ExecStartPre):
  rdpbridge check-config /etc/rdpbridge/rdpbridge.toml)");

    std::string cert_config, cert_state_dir;
    auto* cert_cmd = app.add_subcommand(
        "cert",
        "Print the certificate each listener presents, with its SHA-256 (what clients "
        "are asked to trust).");
    auto* cert_cfg = cert_cmd->add_option("-c,--config", cert_config, "The gateway's config file")
                         ->check(CLI::ExistingFile);
    cert_cmd
        ->add_option("--state-dir", cert_state_dir,
                     "Quick start: its state directory (default as for run)")
        ->excludes(cert_cfg);
    cert_cmd->footer(
        "\nExit codes: 0 success, 1 a certificate is not there yet, 2 usage error, 3 invalid "
        "configuration.");

    std::string reload_file;
    auto* reload_cmd = app.add_subcommand(
        "reload",
        "Check a config file, then make the gateway running with it apply it without dropping "
        "sessions (the same as SIGHUP or systemctl reload rdpbridge).");
    reload_cmd->add_option("-c,--config", reload_file, "The running gateway's config file")
        ->required()
        ->check(CLI::ExistingFile);
    reload_cmd->footer(R"(
The file is checked first, as check-config does: if anything is wrong, nothing is sent. The
gateway (its PID in <state_dir>/rdpbridge.pid) then reads the file again, checks it again and
builds every certificate and password before anything changes; new connections get the new
configuration, live sessions keep theirs. This command prints what changed, from the gateway's
handshake log.

Exit codes: 0 reloaded, 1 no running gateway (or no answer within 15 s), 2 usage error, 3 the
file was refused.

Example:
  rdpbridge reload -c /etc/rdpbridge/rdpbridge.toml)");

    auto* version_cmd = app.add_subcommand("version", "Print the version.");
    version_cmd->footer("\nExit codes: 0 success, 2 usage error.");

    probe::Options probe_options;
    auto* probe_cmd = probe::add_command(app, probe_options);

    logs::Options logs_options;
    auto* logs_cmd = logs::add_command(app, logs_options);

    proxy::trust::HostsOptions hosts_options;
    auto* hosts_cmd = proxy::trust::add_hosts_command(app, hosts_options);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }
    if (run_cmd->parsed()) {
        if (o.config_file.empty() && o.quick.listen.empty()) {
            std::cerr << "rdpbridge run: give --config FILE, or --listen ADDR:PORT --target "
                         "HOST[:PORT]\nRun 'rdpbridge run --help' for details.\n";
            return kExitUsage;
        }
        return run(o);
    }
    if (check_cmd->parsed()) return check_config(check_file, check_user);
    if (reload_cmd->parsed()) return proxy::run_reload(reload_file);
    if (cert_cmd->parsed()) return show_certificates(cert_config, cert_state_dir);
    if (probe_cmd->parsed()) return probe::run(probe_options);
    if (logs_cmd->parsed()) return logs::run(logs_options);
    if (hosts_cmd->parsed()) return proxy::trust::run_hosts(hosts_options);
    if (version_cmd->parsed()) {
        std::cout << "rdpbridge " << RDPBRIDGE_VERSION << "\n";
        return 0;
    }
    return kExitUsage;
}

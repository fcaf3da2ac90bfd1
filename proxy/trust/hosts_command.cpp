#include "proxy/trust/hosts_command.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "config/load.hpp"
#include "proxy/trust/known_hosts.hpp"
#include "proxy/trust/share.hpp"

namespace rdpbridge::proxy::trust {

namespace {

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr int kExitConfig = 3;

constexpr const char* kFooter = R"help(
The known-hosts store (the config's known_hosts, by default <state_dir>/known_hosts.jsonl; one
JSON object per backend) holds what the gateway learnt of each host with verify = "tofu": the
SHA-256 of its TLS certificate and of that certificate's key (SPKI), the SHA-256 of its Standard
RDP Security key, the layers it has shown (TLS, NLA, RDP), and first/last seen. A host that
later presents another key, or less security, is refused (host_identity_changed,
host_security_downgrade) and the attempt is kept as "pending". Check the new fingerprint on the
host itself, then accept it; the running gateway picks the change up on the next connection.

Several gateways (behind HAProxy, docs/high-availability.md) must trust the same identities.
On one machine they can share one known_hosts file; across machines, export the store of one
and import it into the others. Import adds and merges; an entry whose key contradicts the local
one is a conflict and nothing is changed, unless --replace (after `hosts accept` of a checked
new key on one gateway, to spread that decision).

Exit codes: 0 success, 1 nothing to accept / no such host / store unreadable / import conflict,
2 usage error, 3 invalid configuration.

Examples:
  rdpbridge hosts list -c /etc/rdpbridge/rdpbridge.toml
  rdpbridge hosts show plc-press -c /etc/rdpbridge/rdpbridge.toml
  rdpbridge hosts accept plc-press --fingerprint 3f2a...e1 -c /etc/rdpbridge/rdpbridge.toml
  rdpbridge hosts forget plc-press --state-dir /var/lib/rdpbridge
  rdpbridge hosts export -c gw1.toml | ssh gw2 rdpbridge hosts import - -c /etc/rdpbridge/rdpbridge.toml)help";

std::string or_dash(const std::string& s) {
    return s.empty() ? "-" : s;
}

std::string short_fp(const std::string& s) {
    return s.empty() ? "-" : s.substr(0, 16) + "…";
}

nlohmann::ordered_json to_json(const KnownHost& h) {
    // The store's own line format: one schema for the file and for --json.
    return nlohmann::ordered_json::parse(serialize({h}));
}

void print_identity(const rdp::HostIdentity& id, const std::string& indent) {
    std::cout << indent << "layers:          " << rdp::to_string(id.layers) << "\n"
              << indent << "TLS certificate: sha256 " << or_dash(id.tls_cert_sha256) << "\n"
              << indent << "TLS key (SPKI):  sha256 " << or_dash(id.tls_spki_sha256) << "\n"
              << indent << "RDP key:         sha256 " << or_dash(id.rdp_key_sha256) << "\n";
}

std::filesystem::path store_path(const HostsOptions& o, int& exit_code) {
    if (!o.state_dir.empty()) return Store::in(o.state_dir);
    auto loaded = config::load_file(o.config_file);
    if (auto* errors = std::get_if<std::vector<config::LoadError>>(&loaded)) {
        for (const auto& e : *errors) std::cerr << "error: " << e.to_string() << "\n";
        exit_code = kExitConfig;
        return {};
    }
    return std::get<config::Config>(loaded).known_hosts_file();
}

int list(const Store& store, bool json) {
    const auto hosts = store.read();
    if (json) {
        auto a = nlohmann::ordered_json::array();
        for (const auto& h : hosts) a.push_back(to_json(h));
        std::cout << a.dump(2) << "\n";
        return 0;
    }
    if (hosts.empty()) {
        std::cout << "no hosts recorded in " << store.file().string() << "\n";
        return 0;
    }
    std::cout << std::left << std::setw(18) << "BACKEND" << std::setw(24) << "ADDRESS"
              << std::setw(10) << "LAYERS" << std::setw(19) << "TLS CERT" << std::setw(19)
              << "RDP KEY" << std::setw(22) << "LAST SEEN"
              << "STATE\n";
    for (const auto& h : hosts) {
        std::cout << std::setw(18) << h.backend << std::setw(24) << h.address << std::setw(10)
                  << rdp::to_string(h.identity.layers) << std::setw(19)
                  << short_fp(h.identity.tls_cert_sha256) << std::setw(19)
                  << short_fp(h.identity.rdp_key_sha256) << std::setw(22) << or_dash(h.last_seen)
                  << (h.pending ? "REFUSED " + h.pending->cause + " — see `hosts show`" : "trusted")
                  << "\n";
    }
    return 0;
}

int show(const Store& store, const std::string& name, bool json) {
    const auto hosts = store.read();
    const KnownHost* h = find(hosts, name);
    if (h == nullptr) {
        std::cerr << "rdpbridge hosts: nothing recorded for backend \"" << name << "\" in "
                  << store.file().string() << "\n";
        return kExitFailure;
    }
    if (json) {
        std::cout << to_json(*h).dump(2) << "\n";
        return 0;
    }
    std::cout << "backend " << h->backend << " at " << h->address << "\n";
    if (h->trusted()) {
        std::cout << "  trusted since " << or_dash(h->first_seen) << ", last seen "
                  << or_dash(h->last_seen) << "\n";
        print_identity(h->identity, "    ");
    } else {
        std::cout << "  nothing trusted yet\n";
    }
    if (h->pending) {
        std::cout << "  REFUSED " << h->pending->seen << " (" << h->pending->cause
                  << "); it presented:\n";
        print_identity(h->pending->identity, "    ");
        std::cout << "  Check these fingerprints on the host itself, then: rdpbridge hosts accept "
                  << h->backend << "\n";
    }
    return 0;
}

bool matches_any(const rdp::HostIdentity& id, const std::string& fp) {
    return fp == id.tls_cert_sha256 || fp == id.tls_spki_sha256 || fp == id.rdp_key_sha256;
}

std::string normalised(std::string fp) {
    std::string out;
    for (char c : fp)
        if (std::isxdigit(static_cast<unsigned char>(c)))
            out.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

int accept(Store& store, const std::string& name, const std::string& fingerprint) {
    int code = 0;
    std::string message;
    store.update([&](std::vector<KnownHost>& hosts) {
        KnownHost* h = find(hosts, name);
        if (h == nullptr || !h->pending) {
            message = "no refused attempt is recorded for backend \"" + name +
                      "\": nothing to accept (the gateway records one when it refuses a host; "
                      "`rdpbridge hosts list` shows them)";
            code = kExitFailure;
            return;
        }
        if (!fingerprint.empty() && !matches_any(h->pending->identity, normalised(fingerprint))) {
            message =
                "the fingerprint given matches nothing the host presented; it presented "
                "TLS certificate " +
                or_dash(h->pending->identity.tls_cert_sha256) + ", TLS key " +
                or_dash(h->pending->identity.tls_spki_sha256) + ", RDP key " +
                or_dash(h->pending->identity.rdp_key_sha256) + "; nothing changed";
            code = kExitFailure;
            return;
        }
        const std::string now = now_rfc3339();
        h->identity = h->pending->identity;
        if (h->first_seen.empty()) h->first_seen = now;
        h->last_seen = now;
        h->pending.reset();
        message =
            "accepted for backend " + name + ": layers " + rdp::to_string(h->identity.layers) +
            (h->identity.tls_cert_sha256.empty()
                 ? ""
                 : ", TLS certificate sha256 " + h->identity.tls_cert_sha256) +
            (h->identity.rdp_key_sha256.empty() ? ""
                                                : ", RDP key sha256 " + h->identity.rdp_key_sha256);
    });
    (code == 0 ? std::cout : std::cerr)
        << (code == 0 ? "" : "rdpbridge hosts: ") << message << "\n";
    return code;
}

int forget(Store& store, const std::string& name) {
    bool found = false;
    store.update([&](std::vector<KnownHost>& hosts) {
        const auto before = hosts.size();
        std::erase_if(hosts, [&](const KnownHost& h) { return h.backend == name; });
        found = hosts.size() != before;
    });
    if (!found) {
        std::cerr << "rdpbridge hosts: nothing recorded for backend \"" << name << "\"\n";
        return kExitFailure;
    }
    std::cout << "forgot backend " << name
              << "; the next connection to it learns its identity afresh\n";
    return 0;
}

int export_store(const Store& store, const std::string& output) {
    const std::string text = serialize(exportable(store.read()));
    if (output.empty() || output == "-") {
        std::cout << text << std::flush;
        return 0;
    }
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    if (!(out << text) || !out.flush()) {
        std::cerr << "rdpbridge hosts: cannot write " << output << "\n";
        return kExitFailure;
    }
    return 0;
}

std::vector<KnownHost> read_import(const std::string& file) {
    std::ostringstream text;
    if (file == "-") {
        text << std::cin.rdbuf();
        return parse(text.str(), "(stdin)");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) throw StoreError("cannot read " + file);
    text << in.rdbuf();
    return parse(text.str(), file);
}

std::string names(const std::vector<std::string>& list) {
    std::string out;
    for (const auto& n : list) out += (out.empty() ? "" : ", ") + n;
    return out;
}

int import_store(Store& store, const std::string& file, bool replace) {
    const auto incoming = read_import(file);
    ImportReport report;
    store.update([&](std::vector<KnownHost>& hosts) {
        auto merged = hosts;
        report = merge(merged, incoming, replace);
        if (report.conflicts.empty()) hosts = std::move(merged);
    });
    if (!report.conflicts.empty()) {
        for (const auto& c : report.conflicts)
            std::cerr << "rdpbridge hosts: conflict: " << c << "\n";
        std::cerr << "rdpbridge hosts: nothing imported into " << store.file().string()
                  << ". A gateway refuses a host whose key changed; check which key the host "
                     "really has, then `hosts accept` it where it was refused and export that "
                     "store again, or import with --replace to make the file's keys win\n";
        return kExitFailure;
    }
    const auto line = [](const char* what, const std::vector<std::string>& list) {
        if (!list.empty()) std::cout << what << " " << list.size() << ": " << names(list) << "\n";
    };
    line("added", report.added);
    line("merged (same keys)", report.merged);
    line("replaced", report.replaced);
    if (report.skipped != 0)
        std::cout << "skipped " << report.skipped << " entries with nothing trusted\n";
    std::cout << "imported into " << store.file().string()
              << "; running gateways pick it up on their next connection\n";
    return 0;
}

}  // namespace

CLI::App* add_hosts_command(CLI::App& app, HostsOptions& o) {
    auto* cmd = app.add_subcommand("hosts",
                                   "List, show, accept or forget the host identities the gateway "
                                   "trusts; export and import them between gateways.");
    cmd->footer(kFooter);
    cmd->require_subcommand(1);
    auto where = [&o](CLI::App* sub) {
        auto* c = sub->add_option("-c,--config", o.config_file,
                                  "The gateway's config file: its known_hosts store")
                      ->check(CLI::ExistingFile);
        auto* d = sub->add_option("--state-dir", o.state_dir,
                                  "The gateway's state directory (instead of --config)");
        c->excludes(d);
        sub->callback([sub, &o] {
            o.action = sub->get_name();
            if (o.config_file.empty() && o.state_dir.empty())
                throw CLI::ValidationError("--config", "give --config FILE or --state-dir DIR");
        });
    };
    auto* list_cmd = cmd->add_subcommand("list", "One line per recorded host.");
    list_cmd->add_flag("--json", o.json, "The store's entries as a JSON array");
    where(list_cmd);
    auto* show_cmd = cmd->add_subcommand("show", "Everything recorded for one backend.");
    show_cmd->add_option("name", o.name, "Backend name")->required();
    show_cmd->add_flag("--json", o.json, "As JSON");
    where(show_cmd);
    auto* accept_cmd = cmd->add_subcommand(
        "accept",
        "Trust the identity of the backend's last refused attempt (changed key, "
        "downgrade, or first use under tofu_first_use = \"refuse\").");
    accept_cmd->add_option("name", o.name, "Backend name")->required();
    accept_cmd->add_option("--fingerprint", o.fingerprint,
                           "SHA-256 you checked on the host: accept only if the refused "
                           "attempt presented it (certificate, key or RDP key)");
    where(accept_cmd);
    auto* forget_cmd =
        cmd->add_subcommand("forget", "Remove a backend's entry: its next contact is a first use.");
    forget_cmd->add_option("name", o.name, "Backend name")->required();
    where(forget_cmd);
    auto* export_cmd = cmd->add_subcommand(
        "export",
        "Print the trusted identities (JSON Lines, the store's format) for other gateways.");
    export_cmd->add_option("-o,--output", o.file, "Write to FILE instead of stdout");
    where(export_cmd);
    auto* import_cmd = cmd->add_subcommand(
        "import", "Merge identities exported by another gateway into this one's store.");
    import_cmd->add_option("file", o.file, "An export (\"-\": stdin)")->required();
    import_cmd->add_flag("--replace", o.replace,
                         "Where the file's key contradicts this store's, trust the file's");
    where(import_cmd);
    return cmd;
}

int run_hosts(const HostsOptions& o) {
    int code = 0;
    const auto path = store_path(o, code);
    if (code != 0) return code;
    Store store(path);
    try {
        if (o.action == "list") return list(store, o.json);
        if (o.action == "show") return show(store, o.name, o.json);
        if (o.action == "accept") return accept(store, o.name, o.fingerprint);
        if (o.action == "forget") return forget(store, o.name);
        if (o.action == "export") return export_store(store, o.file);
        if (o.action == "import") return import_store(store, o.file, o.replace);
    } catch (const StoreError& e) {
        std::cerr << "rdpbridge hosts: " << e.what() << "\n";
        return kExitFailure;
    }
    return kExitUsage;
}

}  // namespace rdpbridge::proxy::trust

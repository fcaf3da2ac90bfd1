// `rdpbridge hosts`: list, show, accept and forget the identities in the known-hosts store, and
// export/import them between gateways. It works on the store of a running gateway: the gateway
// re-reads the file when it changes.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace rdpbridge::proxy::trust {

struct HostsOptions {
    std::string config_file;  // -c: its known_hosts (default: in its state_dir)
    std::string state_dir;    // --state-dir, instead of -c
    std::string action;       // list | show | accept | forget | export | import
    std::string name;         // backend name (show, accept, forget)
    std::string fingerprint;  // accept --fingerprint: must match the pending identity
    std::string file;         // import FILE ("-": stdin); export --output FILE (default stdout)
    bool replace = false;     // import --replace: the file's keys win conflicts
    bool json = false;
};

CLI::App* add_hosts_command(CLI::App& app, HostsOptions& options);
int run_hosts(const HostsOptions& options);

}  // namespace rdpbridge::proxy::trust

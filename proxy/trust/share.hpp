// Sharing host identities between gateways (several instances behind one balancer): what
// `rdpbridge hosts export` writes and how `rdpbridge hosts import` merges it into a store, and the
// comparison the gateway itself makes before it records an identity in a store that others write
// too. Pure functions over entries: no files.
#pragma once

#include <string>
#include <vector>

#include "proxy/trust/known_hosts.hpp"

namespace rdpbridge::proxy::trust {

// True when no key recorded in both contradicts the other: the TLS key (SPKI, or the certificate
// where either lacks an SPKI) and the Standard RDP Security key. A kind recorded in only one of
// them is no contradiction (one gateway may have met the host over TLS, another over RDP).
bool same_keys(const rdp::HostIdentity& a, const rdp::HostIdentity& b);

// The trusted entries, without pending attempts: a refusal is for the operator of the gateway
// that saw it, not something to spread.
std::vector<KnownHost> exportable(const std::vector<KnownHost>& hosts);

struct ImportReport {
    std::vector<std::string> added;      // backend names new to this store
    std::vector<std::string> merged;     // the same keys: layers and missing kinds filled in
    std::vector<std::string> replaced;   // conflicts overridden by --replace
    std::vector<std::string> conflicts;  // one sentence each, naming both fingerprints
    std::size_t skipped = 0;             // entries holding nothing trusted
};

// Merges `incoming` into `local`. A conflict (another key, or the backend at another address)
// keeps the local entry unless `replace`; the caller writes nothing when conflicts remain.
ImportReport merge(std::vector<KnownHost>& local, const std::vector<KnownHost>& incoming,
                   bool replace);

}  // namespace rdpbridge::proxy::trust

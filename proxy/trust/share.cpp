#include "proxy/trust/share.hpp"

#include <algorithm>

namespace rdpbridge::proxy::trust {

namespace {

// Both set and different: a contradiction. One missing: none.
bool differ(const std::string& a, const std::string& b) {
    return !a.empty() && !b.empty() && a != b;
}

bool same_tls_key(const rdp::HostIdentity& a, const rdp::HostIdentity& b) {
    // A renewed certificate keeps its key: compare keys where both know them.
    if (!a.tls_spki_sha256.empty() && !b.tls_spki_sha256.empty())
        return a.tls_spki_sha256 == b.tls_spki_sha256;
    return !differ(a.tls_cert_sha256, b.tls_cert_sha256);
}

std::string earlier(const std::string& a, const std::string& b) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    return std::min(a, b);  // RFC 3339 UTC with a fixed width sorts as text
}

std::string later(const std::string& a, const std::string& b) {
    return a.empty() ? b : b.empty() ? a : std::max(a, b);
}

std::string fingerprints(const rdp::HostIdentity& id) {
    std::string out;
    const auto add = [&out](const char* what, const std::string& fp) {
        if (fp.empty()) return;
        out += (out.empty() ? "" : ", ") + std::string(what) + " sha256 " + fp;
    };
    add("TLS key", id.tls_spki_sha256.empty() ? "" : id.tls_spki_sha256);
    add("TLS certificate", id.tls_spki_sha256.empty() ? id.tls_cert_sha256 : "");
    add("RDP key", id.rdp_key_sha256);
    return out.empty() ? "no key" : out;
}

void fill_in(KnownHost& local, const KnownHost& in) {
    auto& id = local.identity;
    const auto& other = in.identity;
    // The newer certificate of the same key wins, as the gateway itself records a renewal.
    if (id.tls_cert_sha256.empty() ||
        (other.tls_cert_sha256 != id.tls_cert_sha256 && !other.tls_cert_sha256.empty() &&
         in.last_seen > local.last_seen)) {
        id.tls_cert_sha256 = other.tls_cert_sha256;
        if (!other.tls_spki_sha256.empty()) id.tls_spki_sha256 = other.tls_spki_sha256;
    }
    if (id.tls_spki_sha256.empty()) id.tls_spki_sha256 = other.tls_spki_sha256;
    if (id.rdp_key_sha256.empty()) id.rdp_key_sha256 = other.rdp_key_sha256;
    id.layers = {id.layers.tls || other.layers.tls, id.layers.nla || other.layers.nla,
                 id.layers.rdp || other.layers.rdp};
    local.first_seen = earlier(local.first_seen, in.first_seen);
    local.last_seen = later(local.last_seen, in.last_seen);
    // A refusal of exactly what is now trusted is settled.
    if (local.pending && same_keys(local.pending->identity, id)) local.pending.reset();
}

}  // namespace

bool same_keys(const rdp::HostIdentity& a, const rdp::HostIdentity& b) {
    return same_tls_key(a, b) && !differ(a.rdp_key_sha256, b.rdp_key_sha256);
}

std::vector<KnownHost> exportable(const std::vector<KnownHost>& hosts) {
    std::vector<KnownHost> out;
    for (const auto& h : hosts) {
        if (!h.trusted()) continue;
        out.push_back(h);
        out.back().pending.reset();
    }
    return out;
}

ImportReport merge(std::vector<KnownHost>& local, const std::vector<KnownHost>& incoming,
                   bool replace) {
    ImportReport report;
    for (const auto& in : incoming) {
        if (!in.trusted()) {
            ++report.skipped;
            continue;
        }
        KnownHost* h = find(local, in.backend);
        if (h == nullptr) {
            local.push_back(in);
            local.back().pending.reset();
            report.added.push_back(in.backend);
            continue;
        }
        if (!h->trusted() && h->address == in.address) {
            // Only a refused attempt here: what the other gateway trusts now settles it.
            auto pending = h->pending;
            *h = in;
            h->pending = pending;
            fill_in(*h, in);
            report.added.push_back(in.backend);
            continue;
        }
        std::string conflict;
        if (h->address != in.address) {
            conflict = "backend " + in.backend + " is at " + in.address + " in the file but at " +
                       h->address + " here";
        } else if (!same_keys(h->identity, in.identity)) {
            conflict = "backend " + in.backend + ": the file trusts " + fingerprints(in.identity) +
                       "; this store trusts " + fingerprints(h->identity);
        }
        if (conflict.empty()) {
            fill_in(*h, in);
            report.merged.push_back(in.backend);
        } else if (replace) {
            *h = in;
            h->pending.reset();
            report.replaced.push_back(in.backend);
        } else {
            report.conflicts.push_back(std::move(conflict));
        }
    }
    return report;
}

}  // namespace rdpbridge::proxy::trust

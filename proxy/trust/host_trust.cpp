#include "proxy/trust/host_trust.hpp"

#include <cerrno>

#include "proxy/trust/share.hpp"

namespace rdpbridge::proxy::trust {

namespace {

constexpr std::time_t kLastSeenResolution = 3600;  // seconds

bool same_file(const struct ::stat& a, const struct ::stat& b) {
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
           a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

bool same_fingerprints(const rdp::HostIdentity& a, const rdp::HostIdentity& b) {
    return a.tls_cert_sha256 == b.tls_cert_sha256 && a.tls_spki_sha256 == b.tls_spki_sha256 &&
           a.rdp_key_sha256 == b.rdp_key_sha256;
}

rdp::SecurityLayers merged(rdp::SecurityLayers a, rdp::SecurityLayers b) {
    return {a.tls || b.tls, a.nla || b.nla, a.rdp || b.rdp};
}

// RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" to seconds since the epoch; 0 if it does not parse.
std::time_t parse_time(const std::string& text) {
    std::tm tm{};
    if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm) == nullptr) return 0;
    return timegm(&tm);
}

KnownHost& entry_for(std::vector<KnownHost>& hosts, const std::string& backend,
                     const std::string& address, const std::string& now) {
    KnownHost* h = find(hosts, backend);
    if (h == nullptr) {
        hosts.push_back(KnownHost{backend, address, {}, now, now, std::nullopt});
        return hosts.back();
    }
    if (h->address != address) *h = KnownHost{backend, address, {}, now, now, std::nullopt};
    return *h;
}

}  // namespace

void HostTrust::refresh() {
    struct ::stat st {};
    const bool exists = ::stat(store_.file().c_str(), &st) == 0;
    if (loaded_ && exists == cached_exists_ && (!exists || same_file(st, cached_stat_))) return;
    cached_ = store_.read();
    cached_stat_ = st;
    cached_exists_ = exists;
    loaded_ = true;
}

std::optional<KnownHost> HostTrust::lookup(const std::string& backend, const std::string& address) {
    std::lock_guard lock(mutex_);
    refresh();
    const KnownHost* h = find(cached_, backend);
    if (h == nullptr || h->address != address) return std::nullopt;
    return *h;
}

std::optional<KnownHost> HostTrust::learn(const std::string& backend, const std::string& address,
                                          const rdp::HostIdentity& observed,
                                          const rdp::HostIdentity* assumed) {
    std::lock_guard lock(mutex_);
    std::optional<KnownHost> pinned_meanwhile;
    store_.update([&](std::vector<KnownHost>& hosts) {
        if (const KnownHost* now_on_disk = find(hosts, backend);
            now_on_disk != nullptr && now_on_disk->address == address && now_on_disk->trusted() &&
            !(assumed != nullptr && same_fingerprints(now_on_disk->identity, *assumed)) &&
            !same_keys(now_on_disk->identity, observed)) {
            pinned_meanwhile = *now_on_disk;
            return;
        }
        const std::string now = now_rfc3339();
        KnownHost& h = entry_for(hosts, backend, address, now);
        if (!observed.tls_cert_sha256.empty()) {
            h.identity.tls_cert_sha256 = observed.tls_cert_sha256;
            h.identity.tls_spki_sha256 = observed.tls_spki_sha256;
        }
        if (!observed.rdp_key_sha256.empty()) h.identity.rdp_key_sha256 = observed.rdp_key_sha256;
        h.identity.layers = merged(h.identity.layers, observed.layers);
        h.last_seen = now;
        h.pending.reset();
    });
    loaded_ = false;
    return pinned_meanwhile;
}

void HostTrust::seen(const std::string& backend, const std::string& address,
                     rdp::SecurityLayers layers) {
    std::lock_guard lock(mutex_);
    refresh();
    const KnownHost* cached = find(cached_, backend);
    if (cached != nullptr && cached->address == address &&
        merged(cached->identity.layers, layers) == cached->identity.layers &&
        std::time(nullptr) - parse_time(cached->last_seen) < kLastSeenResolution)
        return;
    store_.update([&](std::vector<KnownHost>& hosts) {
        const std::string now = now_rfc3339();
        KnownHost& h = entry_for(hosts, backend, address, now);
        h.identity.layers = merged(h.identity.layers, layers);
        h.last_seen = now;
    });
    loaded_ = false;
}

void HostTrust::refuse(const std::string& backend, const std::string& address,
                       const rdp::HostIdentity& observed, const std::string& cause) {
    std::lock_guard lock(mutex_);
    store_.update([&](std::vector<KnownHost>& hosts) {
        const std::string now = now_rfc3339();
        KnownHost* h = find(hosts, backend);
        if (h == nullptr || h->address != address) {
            // Nothing trusted here yet (first use refused): an entry holding only the pending.
            h = &entry_for(hosts, backend, address, now);
            h->first_seen.clear();
            h->last_seen.clear();
        }
        h->pending = PendingIdentity{observed, now, cause};
    });
    loaded_ = false;
}

}  // namespace rdpbridge::proxy::trust

#include "proxy/probe/trust_record.hpp"

#include <algorithm>
#include <stdexcept>

#include "config/channel_policy.hpp"
#include "config/load.hpp"
#include "proxy/trust/host_trust.hpp"

namespace rdpbridge::probe {

namespace trust = proxy::trust;

namespace {

// Must match the session's name for a backend's address (host part as parsed, no brackets):
// the store treats another address as another host.
std::string store_address(const std::string& host, uint16_t port) {
    return host + ":" + std::to_string(port);
}

void check_against_config(const config::Config& cfg, const std::string& file, TrustTarget& t,
                          std::vector<std::string>& errors) {
    const auto it = std::find_if(cfg.backends.begin(), cfg.backends.end(),
                                 [&](const config::Backend& b) { return b.name == t.backend; });
    if (it == cfg.backends.end()) {
        t.notes.push_back(file + " has no [[backend]] named \"" + t.backend +
                          "\" yet: the record applies once one with address = \"" + t.address +
                          "\" is added (verify = \"tofu\", the default)");
        return;
    }
    const std::string configured = store_address(it->address.host, it->address.port);
    if (configured != t.address) {
        errors.push_back(file + ": backend \"" + t.backend + "\" has address \"" + configured +
                         "\", not \"" + t.address +
                         "\"; the gateway would treat a record for another address as another "
                         "host: probe " +
                         configured + " instead");
        return;
    }
    t.channel_policy = configured_channel_policy(cfg, *it);
    if (it->tls.verify != config::CertVerify::tofu) {
        t.notes.push_back(file + ": backend \"" + t.backend + "\" uses verify = \"" +
                          std::string(config::to_string(it->tls.verify)) +
                          "\"; the gateway consults the known-hosts store only with verify = "
                          "\"tofu\"");
    }
}

// Store field names, as in known_hosts.jsonl and `rdpbridge hosts show --json`.
std::vector<std::string> replaced_fields(const trust::KnownHost* before, const TrustTarget& t,
                                         const rdp::HostIdentity& observed) {
    std::vector<std::string> out;
    if (before == nullptr) return out;
    if (before->address != t.address) return {"address"};
    const auto& was = before->identity;
    auto check = [&](const char* name, const std::string& old, const std::string& now) {
        if (!old.empty() && !now.empty() && old != now) out.push_back(name);
    };
    check("tls_cert_sha256", was.tls_cert_sha256, observed.tls_cert_sha256);
    check("tls_spki_sha256", was.tls_spki_sha256, observed.tls_spki_sha256);
    check("rdp_key_sha256", was.rdp_key_sha256, observed.rdp_key_sha256);
    return out;
}

}  // namespace

std::optional<ConfiguredChannelPolicy> configured_channel_policy(const config::Config& cfg,
                                                                 const config::Backend& backend) {
    ConfiguredChannelPolicy p;
    p.backend = backend.name;
    if (backend.channels) p.policy = config::describe(*backend.channels);
    for (const auto& r : cfg.routes) {
        if (r.backend != backend.name || !r.channels) continue;
        std::string route = "mstshash=" + r.mstshash;
        if (!r.listener.empty()) route += " on listener " + r.listener;
        p.routes.push_back(route + ": " + config::describe(*r.channels));
    }
    if (p.policy.empty() && p.routes.empty()) return std::nullopt;
    return p;
}

std::variant<TrustTarget, TrustError> prepare_trust(const std::string& backend,
                                                    const Target& target,
                                                    const std::string& config_file,
                                                    const std::string& state_dir) {
    TrustTarget t;
    t.backend = backend;
    t.address = store_address(target.host, target.port);
    std::vector<std::string> errors;
    if (!state_dir.empty()) {
        t.store = trust::Store::in(state_dir);
    } else {
        auto loaded = config::load_file(config_file);
        if (auto* load_errors = std::get_if<std::vector<config::LoadError>>(&loaded)) {
            for (const auto& e : *load_errors) errors.push_back(e.to_string());
            return TrustError{std::move(errors)};
        }
        const auto& cfg = std::get<config::Config>(loaded);
        t.store = cfg.known_hosts_file();
        check_against_config(cfg, config_file, t, errors);
    }
    try {
        trust::Store(t.store).read();
    } catch (const trust::StoreError& e) {
        errors.push_back(e.what());
    }
    if (!errors.empty()) return TrustError{std::move(errors)};
    return t;
}

TrustRecord record_trust(const TrustTarget& t, const Findings& f) {
    const rdp::HostIdentity observed = host_identity(f);
    if (observed.layers.empty() && observed.tls_cert_sha256.empty() &&
        observed.rdp_key_sha256.empty()) {
        throw std::invalid_argument(
            "the probe saw no security layer selected and no key: nothing to record");
    }
    trust::Store store(t.store);
    const auto before = store.read();
    TrustRecord r;
    r.backend = t.backend;
    r.address = t.address;
    r.store = t.store.string();
    r.replaced = replaced_fields(trust::find(before, t.backend), t, observed);

    // The operator asked for what the probe saw to be trusted, over what the store held when it
    // was read; only a gateway writing another key in between stops it.
    const trust::KnownHost* was = trust::find(before, t.backend);
    const bool was_here = was != nullptr && was->address == t.address;
    if (trust::HostTrust(t.store).learn(t.backend, t.address, observed,
                                        was_here ? &was->identity : nullptr))
        throw trust::StoreError(t.store.string() +
                                ": a gateway recorded another key for backend \"" + t.backend +
                                "\" while the probe ran; nothing written, run it again");

    // What the store holds now (layers merged with earlier ones), not what was meant to be.
    const auto after = store.read();
    const trust::KnownHost* h = trust::find(after, t.backend);
    if (h == nullptr || h->address != t.address)
        throw trust::StoreError(t.store.string() + ": the record for backend \"" + t.backend +
                                "\" is not there after writing it");
    r.identity = h->identity;
    return r;
}

}  // namespace rdpbridge::probe

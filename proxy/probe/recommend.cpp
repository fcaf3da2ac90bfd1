// The backend profile half of the verdict (declared in verdict.hpp): the tightest settings
// that still reach the host, each with the finding that justifies it.
#include <algorithm>

#include "proxy/probe/layers.hpp"
#include "proxy/probe/verdict.hpp"

namespace rdpbridge::probe {

namespace {

using config::TlsVersion;

constexpr int kModernSecurityLevel = 2;

std::optional<TlsVersion> parse_version(std::string_view v) {
    if (v == "1.0") return TlsVersion::tls1_0;
    if (v == "1.1") return TlsVersion::tls1_1;
    if (v == "1.2") return TlsVersion::tls1_2;
    if (v == "1.3") return TlsVersion::tls1_3;
    return std::nullopt;
}

bool in_range(const TlsVersionResult& v, const config::BackendTls& tls) {
    const auto parsed = parse_version(v.version);
    return v.accepted && parsed && *parsed >= tls.min_version && *parsed <= tls.max_version;
}

// Newest accepted version only when it is TLS 1.2+ (then 1.2 stays allowed next to 1.3); a
// legacy host gets exactly its newest version, so nothing older can be negotiated.
void choose_versions(const TlsFindings& tls, Recommendation& r) {
    auto& t = r.backend.tls;
    const auto accepted = accepted_versions(tls);
    const TlsVersion newest = *parse_version(accepted.back());
    const bool has12 = std::find(accepted.begin(), accepted.end(), "1.2") != accepted.end();
    t.max_version = newest;
    if (newest >= TlsVersion::tls1_2) {
        t.min_version = has12 ? TlsVersion::tls1_2 : TlsVersion::tls1_3;
        r.why["tls.min_version"] = "the host speaks TLS " + std::string(to_string(t.min_version)) +
                                   "+; older versions stay off (no downgrade)";
    } else {
        t.min_version = newest;
        r.why["tls.min_version"] = "TLS " + accepted.back() +
                                   " is the newest the host speaks; legacy TLS stays confined "
                                   "to this backend";
    }
    std::string list;
    for (const auto& v : accepted) list += (list.empty() ? "" : ", ") + v;
    r.why["tls.max_version"] = "host accepts TLS " + list;
}

// The host's own suites for the chosen versions, newest version first, in the host's order;
// only the forward-secret AEAD ones when it has any.
void choose_ciphers(const TlsFindings& tls, Recommendation& r) {
    auto& t = r.backend.tls;
    std::vector<CipherFacts> suites;
    for (auto it = tls.versions.rbegin(); it != tls.versions.rend(); ++it) {
        if (it->version == "1.3" || !in_range(*it, t)) continue;
        for (const auto& c : it->ciphers) {
            const bool seen = std::any_of(suites.begin(), suites.end(),
                                          [&](const auto& s) { return s.name == c.name; });
            if (!seen) suites.push_back(c);
        }
    }
    if (suites.empty()) return;  // TLS 1.3 only: its suites are OpenSSL's, all AEAD
    const auto strong = [](const CipherFacts& c) { return c.forward_secrecy && c.aead; };
    const auto n_strong = std::count_if(suites.begin(), suites.end(), strong);
    std::string list;
    for (const auto& c : suites) {
        if (n_strong > 0 && !strong(c)) continue;
        list += (list.empty() ? "" : ":") + c.name;
    }
    t.ciphers = list;
    r.why["tls.ciphers"] = n_strong > 0 && std::size_t(n_strong) < suites.size()
                               ? "the host's forward-secret AEAD suites; " +
                                     std::to_string(suites.size() - n_strong) +
                                     " weaker accepted suite(s) left out"
                               : "the suites the host accepted, in its order";
}

void choose_renegotiation(const TlsFindings& tls, Recommendation& r) {
    auto& t = r.backend.tls;
    t.legacy_renegotiation = std::any_of(tls.versions.begin(), tls.versions.end(), [&](auto& v) {
        return in_range(v, t) && v.secure_renegotiation == false;
    });
    r.why["tls.legacy_renegotiation"] = t.legacy_renegotiation
                                            ? "the host lacks secure renegotiation (RFC 5746)"
                                            : "the host supports RFC 5746 (or speaks only 1.3)";
}

void choose_verification(const Findings& f, Recommendation& r) {
    auto& t = r.backend.tls;
    const auto& cert = f.tls->certificate;
    if (!cert) {
        t.verify = config::CertVerify::off;
        r.why["tls.verify"] = "the host sent no certificate to pin";
        return;
    }
    t.verify = config::CertVerify::pin;
    t.pin_sha256 = cert->sha256;
    r.why["tls.verify"] = cert->self_signed ? "self-signed: pin it rather than trust a CA"
                                            : "pin this certificate (or use verify = \"ca\")";
    r.why["tls.pin_sha256"] =
        cert->subject + ", valid until " + cert->not_after + (cert->expired ? " (EXPIRED)" : "");
    if (!f.target.sni.empty()) {
        t.sni = f.target.sni;
        r.why["tls.sni"] = "as given with --sni";
    }
}

void recommend_tls(const Findings& f, Recommendation& r) {
    r.backend.security = config::BackendSecurity::tls;
    r.has_tls = true;
    r.why["security"] =
        "the host selects TLS (PROTOCOL_SSL); a host that stops offering it "
        "is refused rather than silently downgraded";
    choose_versions(*f.tls, r);
    choose_ciphers(*f.tls, r);
    choose_renegotiation(*f.tls, r);
    choose_verification(f, r);
    const bool legacy = r.backend.tls.min_version < TlsVersion::tls1_2;
    r = with_security_level(std::move(r), legacy ? 0 : kModernSecurityLevel);
}

// The RSA key in SC_SECURITY is all that identifies such a host (no CA can vouch for it), so
// it is pinned; the gateway checks it before the client random and the user's credentials go
// out. Without a key read, the default (trust on first use) is left to learn it.
void choose_rdp_key_pin(const Findings& f, Recommendation& r) {
    if (!f.rdp_security || !f.rdp_security->certificate ||
        f.rdp_security->certificate->key_sha256.empty())
        return;
    const auto& c = *f.rdp_security->certificate;
    auto& t = r.backend.tls;
    t.verify = config::CertVerify::pin;
    t.rdp_key_sha256 = c.key_sha256;
    r.why["tls.verify"] =
        "pin the host's Standard RDP Security key: nothing else identifies it, and the gateway "
        "checks it before any credentials go out";
    r.why["tls.rdp_key_sha256"] =
        "RSA " + std::to_string(c.key_bits) + " bits, " +
        (c.kind == rdp::CertificateKind::proprietary ? "proprietary" : "X.509") +
        " certificate; as `rdpbridge hosts show` prints it";
}

void recommend_rdp(const Findings& f, Recommendation& r) {
    r.backend.security = config::BackendSecurity::rdp;
    std::string why = "the host speaks only Standard RDP Security";
    if (f.rdp_security && f.rdp_security->all &&
        f.rdp_security->all->outcome == MethodOutcome::accepted) {
        why += " (" + rdp::encryption_methods_to_string(f.rdp_security->all->selected) +
               ", level " + rdp::to_string(f.rdp_security->all->level) + ")";
    }
    r.why["security"] = why + "; clients still get TLS 1.2+ from rdpbridge";
    r.notes.push_back(
        "Standard RDP Security stays on the leg between rdpbridge and the host: "
        "keep that network path private.");
    choose_rdp_key_pin(f, r);
}

}  // namespace

Recommendation with_security_level(Recommendation r, int level) {
    r.backend.tls.security_level = level;
    r.why["tls.security_level"] =
        level == 0 ? (r.backend.tls.min_version < TlsVersion::tls1_2
                          ? "OpenSSL 3 allows TLS 1.0/1.1 only at level 0; this backend only"
                          : "the host needs level 0 (a level 2 handshake failed)")
                   : "OpenSSL security level " + std::to_string(level) + " suffices for this host";
    return r;
}

Recommendation recommend(const Findings& f) {
    Recommendation r;
    r.backend.name = backend_name(f.target);
    r.backend.address = {f.target.host, f.target.port};
    const bool tls = f.tls && !accepted_versions(*f.tls).empty();
    if (tls && f.tls->via == rdp::protocol::ssl) {
        r.usable = true;
        recommend_tls(f, r);
    } else if (tls) {
        r.usable = true;
        recommend_tls(f, r);
        r.notes.push_back(
            "The host requires NLA (CredSSP): the gateway logs on to it with credentials, "
            "so it needs some. Either clients log on at the gateway with NLA (on the "
            "[[listener]]: nla = \"offer\" or \"require\" and nla_users) and their "
            "delegated password is used for this host, or this backend gets a service account "
            "for clients without NLA ([backend.credentials] user, domain, password_file). "
            "Credentials go only to a verified host: keep verify = \"pin\" (or \"tofu\").");
    } else if (standard_rdp_offered(f.layers)) {
        r.usable = true;
        recommend_rdp(f, r);
    } else {
        r.backend.security = config::BackendSecurity::automatic;
        r.notes.push_back("NOT USABLE: the host offered no security layer rdpbridge speaks.");
    }
    return r;
}

}  // namespace rdpbridge::probe

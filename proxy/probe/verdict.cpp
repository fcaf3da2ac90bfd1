#include "proxy/probe/verdict.hpp"

#include <algorithm>
#include <cctype>

#include "proxy/probe/layers.hpp"
#include "proxy/probe/toml_block.hpp"

namespace rdpbridge::probe {

namespace {

using rdp::Cause;
namespace em = rdp::encryption_method;

// The floor a hardened client holds: Windows 11 25H2 and FreeRDP /tls-seclevel:3 want TLS 1.2+
// with forward-secret suites; OpenSSL security level 2 wants RSA keys of 2048 bits and SHA-256
// signatures.
constexpr int kMinimumRsaBits = 2048;

const TlsVersionResult* version(const Findings& f, std::string_view v) {
    if (!f.tls) return nullptr;
    for (const auto& r : f.tls->versions)
        if (r.version == v && r.accepted) return &r;
    return nullptr;
}

bool predates_negotiation(const Findings& f) {
    const auto* l = find_layer(f.layers, rdp::protocol::rdp);
    return l && l->answer == LayerAnswer::no_negotiation;
}

bool tls_offered(const Findings& f) {
    return f.tls && !accepted_versions(*f.tls).empty();
}

std::vector<uint32_t> accepted_methods(const Findings& f) {
    std::vector<uint32_t> out;
    if (!f.rdp_security) return out;
    for (const auto& m : f.rdp_security->methods)
        if (m.outcome == MethodOutcome::accepted) out.push_back(m.offered);
    return out;
}

Problem problem(Cause cause, std::string summary, std::string why) {
    const auto& info = rdp::describe(cause);
    return {std::string(info.id), std::move(summary), std::move(why), std::string(info.fix)};
}

void certificate_problems(const CertificateFacts& c, std::vector<Problem>& out) {
    if (c.expired) {
        out.push_back(problem(Cause::host_certificate_expired,
                              "The host's TLS certificate expired " + std::to_string(-c.days_left) +
                                  " day(s) ago (" + c.not_after + ").",
                              "Clients that verify certificates refuse it; others warn on every "
                              "connection. rdpbridge accepts it only with verify = \"pin\" "
                              "(and logs a warning)."));
    } else if (c.not_yet_valid) {
        out.push_back(
            problem(Cause::host_certificate_not_yet_valid,
                    "The host's TLS certificate is not valid before " + c.not_before + ".",
                    "A clock is wrong on the host or here."));
    }
    if (c.self_signed) {
        Problem p = problem(Cause::host_certificate_untrusted,
                            "The host's TLS certificate is self-signed (" + c.subject + ").",
                            "No client can verify it: mstsc warns (or refuses under the "
                            "'Do not connect' server-authentication policy), FreeRDP asks.");
        p.fix =
            "Pin it in rdpbridge (verify = \"pin\", pin_sha256 below): clients then verify "
            "rdpbridge's own certificate instead; or give the host a certificate from a "
            "CA the clients trust.";
        out.push_back(std::move(p));
    }
    if (c.key_type == "RSA" && c.key_bits > 0 && c.key_bits < kMinimumRsaBits) {
        out.push_back(problem(Cause::host_certificate_untrusted,
                              "The host's RSA key has " + std::to_string(c.key_bits) + " bits.",
                              "OpenSSL security level 2 and up (FreeRDP /tls-seclevel:2+) "
                              "reject keys under 2048 bits (EE_KEY_TOO_SMALL)."));
    }
    const auto& sig = c.signature_algorithm;
    if (sig.find("sha1") != std::string::npos || sig.find("md5") != std::string::npos) {
        out.push_back(problem(Cause::host_certificate_untrusted,
                              "The host's certificate is signed with " + sig + ".",
                              "OpenSSL 3 refuses SHA-1 and MD5 certificate signatures at "
                              "security level 1 and up; Windows no longer trusts them."));
    }
}

void tls_problems(const Findings& f, std::vector<Problem>& out) {
    const auto versions = accepted_versions(*f.tls);
    const bool modern = version(f, "1.2") || version(f, "1.3");
    if (!modern) {
        out.push_back(problem(Cause::host_tls_version_mismatch,
                              "The host speaks TLS " + versions.back() + " at most.",
                              "Hardened clients require TLS 1.2 or newer: Windows 11 fails with "
                              "0x904 / extended 0x7, FreeRDP /tls-seclevel:3 with "
                              "ERRCONNECT_TLS_CONNECT_FAILED."));
    } else if (const auto* v12 = version(f, "1.2"); v12 && !version(f, "1.3")) {
        const bool fs_aead = std::any_of(v12->ciphers.begin(), v12->ciphers.end(),
                                         [](const auto& c) { return c.forward_secrecy && c.aead; });
        if (!fs_aead) {
            out.push_back(problem(Cause::host_no_shared_cipher,
                                  "At TLS 1.2 the host offers no forward-secret AEAD suite.",
                                  "OpenSSL security level 3 (FreeRDP /tls-seclevel:3) accepts "
                                  "only suites with forward secrecy; RSA key exchange and "
                                  "CBC-SHA suites are refused."));
        }
    }
    for (const auto& v : f.tls->versions) {
        if (v.accepted && v.secure_renegotiation == false) {
            out.push_back(problem(Cause::host_requires_insecure_renegotiation,
                                  "The host does not support secure renegotiation (RFC 5746) at "
                                  "TLS " +
                                      v.version + ".",
                                  "OpenSSL 3 clients refuse such hosts by default (\"unsafe "
                                  "legacy renegotiation disabled\")."));
            break;
        }
    }
    if (f.tls->certificate) certificate_problems(*f.tls->certificate, out);
}

}  // namespace

std::vector<std::string> accepted_versions(const TlsFindings& tls) {
    std::vector<std::string> out;
    for (const auto& v : tls.versions)
        if (v.accepted) out.push_back(v.version);
    return out;
}

std::string era(const Findings& f) {
    if (f.reach != Reach::rdp) return "";
    if (predates_negotiation(f)) {
        return "Windows 2000 / XP before SP2 / Server 2003 before SP1 class: predates RDP "
               "negotiation, Standard RDP Security only";
    }
    if (!tls_offered(f)) {
        if (f.nla.required) return "an NLA-only host (TLS reachable only inside CredSSP)";
        if (standard_rdp_offered(f.layers))
            return "XP / Server 2003 class: Standard RDP Security only (or a newer host set to "
                   "Security Layer: RDP)";
        return "unknown: the host answers X.224 but offers no security layer the probe can use";
    }
    const std::string nla = f.nla.required    ? ", NLA required"
                            : f.nla.supported ? ", NLA offered"
                                              : ", no NLA";
    if (version(f, "1.3"))
        return "modern: TLS 1.3 (Windows 11 / Server 2022 or newer, or a "
               "current xrdp)" +
               nla;
    if (version(f, "1.2")) {
        if (version(f, "1.0"))
            return "Windows 7 / 2008 R2 with the TLS 1.2 updates, or Windows 8.1 – Server 2019 "
                   "class: TLS 1.0 to 1.2" +
                   nla;
        return "Windows 10 / Server 2016–2019 class or a hardened host: TLS 1.2, no 1.3" + nla;
    }
    if (version(f, "1.1"))
        return "Windows 7 / 2008 R2 class with partial updates: TLS 1.1 at most" + nla;
    return "Windows 7 / Server 2008 R2 class (or Vista / 2008): TLS 1.0 only" + nla;
}

std::vector<Problem> problems(const Findings& f) {
    std::vector<Problem> out;
    if (f.reach != Reach::rdp) return out;
    if (predates_negotiation(f)) {
        out.push_back(problem(Cause::host_predates_negotiation,
                              "The host answers without RDP negotiation data.",
                              "A modern client that insists on TLS cannot even ask for it: "
                              "FreeRDP /sec:tls fails with "
                              "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED."));
    } else if (!tls_offered(f) && standard_rdp_offered(f.layers)) {
        out.push_back(problem(Cause::host_ssl_not_allowed,
                              "The host refuses TLS: it speaks only Standard RDP Security.",
                              "Windows 11 requires TLS (\"An authentication error has "
                              "occurred\" / 0x904); FreeRDP /sec:tls fails with "
                              "ERRCONNECT_SECURITY_NEGO_CONNECT_FAILED."));
    }
    if (f.nla.required) {
        Problem p =
            problem(Cause::host_hybrid_required, "The host requires Network Level Authentication.",
                    "Modern clients handle this themselves; rdpbridge does not run "
                    "CredSSP towards a host yet, so it cannot bridge this one.");
        out.push_back(std::move(p));
    }
    if (tls_offered(f)) {
        tls_problems(f, out);
    } else if (f.tls) {
        std::string refusals;
        for (const auto& v : f.tls->versions)
            refusals += (refusals.empty() ? "TLS " : "; TLS ") + v.version + ": " + v.refusal;
        out.push_back(problem(Cause::host_tls_failed,
                              "The host selects TLS, but no TLS handshake with it succeeded.",
                              refusals));
    }
    return out;
}

std::vector<std::string> risks(const Findings& f) {
    std::vector<std::string> out;
    if (f.reach != Reach::rdp) return out;
    if (!f.nla.required) {
        out.push_back(
            std::string(f.nla.supported ? "NLA is offered but not required" : "No NLA") +
            ": anyone who reaches the port gets a session and a login screen before "
            "authenticating (pre-authentication attack surface: BlueKeep CVE-2019-0708 on "
            "unpatched XP / 2003 / 7 / 2008 R2, password guessing, resource exhaustion). Let "
            "only rdpbridge reach this port.");
    }
    const auto methods = accepted_methods(f);
    if (!methods.empty()) {
        std::string weak;
        for (uint32_t m : methods)
            if (m == em::bits40 || m == em::bits56)
                weak += (weak.empty() ? "" : ", ") + rdp::encryption_methods_to_string(m);
        out.push_back(
            "Standard RDP Security is accepted: RC4 (or 3DES with FIPS) with MD5/SHA-1 "
            "MACs, and the host's key is vouched for only by the publicly known "
            "Terminal Services signing key, so anyone on the path can impersonate the "
            "host.");
        if (!weak.empty())
            out.push_back("Export-grade encryption accepted (" + weak +
                          " RC4): breakable by brute force.");
        if (tls_offered(f))
            out.push_back(
                "The host also accepts TLS, yet still lets a client (or an attacker "
                "rewriting the X.224 exchange) settle on Standard RDP Security.");
    }
    if (f.tls) {
        for (const auto& v : f.tls->versions) {
            if (!v.accepted) continue;
            if (v.version == "1.0" || v.version == "1.1")
                out.push_back("TLS " + v.version +
                              " accepted: CBC with predictable IVs (BEAST), "
                              "MD5/SHA-1 in the handshake.");
            const bool rc4 = std::any_of(v.ciphers.begin(), v.ciphers.end(), [](const auto& c) {
                return c.name.find("RC4") != std::string::npos;
            });
            const bool des = std::any_of(v.ciphers.begin(), v.ciphers.end(), [](const auto& c) {
                return c.name.find("DES") != std::string::npos;
            });
            const bool fs = std::any_of(v.ciphers.begin(), v.ciphers.end(),
                                        [](const auto& c) { return c.forward_secrecy; });
            if (rc4) out.push_back("RC4 suites accepted at TLS " + v.version + " (RFC 7465).");
            if (des)
                out.push_back("3DES/DES suites accepted at TLS " + v.version +
                              " (64-bit blocks: SWEET32).");
            if (!fs)
                out.push_back("No forward secrecy at TLS " + v.version +
                              ": whoever obtains the host's private key can decrypt recorded "
                              "sessions.");
        }
    }
    return out;
}

Verdict judge(const Findings& f) {
    Verdict v;
    v.era = era(f);
    v.problems = problems(f);
    v.risks = risks(f);
    if (f.reach == Reach::rdp) {
        v.recommendation = recommend(f);
        v.toml = toml_block(f, v.recommendation);
    }
    return v;
}

std::string backend_name(const Target& t) {
    std::string name;
    for (char c : t.host)
        name.push_back(
            std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' ? c
                                                                                            : '-');
    return name.empty() ? "host" : name;
}

}  // namespace rdpbridge::probe

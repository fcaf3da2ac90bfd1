#include "proxy/probe/report.hpp"

#include <cstdio>
#include <sstream>

#include "proxy/probe/verdict.hpp"
#include "proxy/probe/wording.hpp"

namespace rdpbridge::probe {

namespace {

constexpr int kLabelWidth = 30;

std::string pad(std::string s, std::size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s + " ";
}

std::string fixed(double v, int decimals) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string yes_no(std::optional<bool> v) {
    return !v ? "n/a" : *v ? "yes" : "NO";
}

void layers(std::ostringstream& o, const Findings& f) {
    o << "\nSecurity layers (X.224 request -> answer)\n";
    for (const auto& l : f.layers) {
        o << "  " << pad(l.name, kLabelWidth) << answer_text(l);
        const auto flags = neg_flag_names(l.flags);
        if (l.answer == LayerAnswer::selected && !flags.empty()) {
            o << "  [";
            for (std::size_t i = 0; i < flags.size(); ++i) o << (i ? ", " : "") << flags[i];
            o << "]";
        }
        o << "\n";
    }
}

void certificate(std::ostringstream& o, const CertificateFacts& c, const std::string& indent) {
    o << indent << pad("subject", 14) << c.subject << "\n";
    o << indent << pad("issuer", 14) << c.issuer << (c.self_signed ? "  (self-signed)" : "")
      << "\n";
    std::string sans;
    for (const auto& s : c.subject_alt_names) sans += (sans.empty() ? "" : ", ") + s;
    o << indent << pad("alt names", 14) << (sans.empty() ? "(none)" : sans) << "\n";
    o << indent << pad("valid", 14) << c.not_before << " .. " << c.not_after << "  ("
      << (c.expired ? "EXPIRED " + std::to_string(-c.days_left) + " day(s) ago"
                    : std::to_string(c.days_left) + " day(s) left")
      << (c.not_yet_valid ? ", NOT YET VALID" : "") << ")\n";
    o << indent << pad("key", 14) << c.key_type << " " << c.key_bits << " bits, signed with "
      << c.signature_algorithm << "\n";
    o << indent << pad("SHA-256", 14) << colon_hex(c.sha256) << "\n";
    o << indent << pad("SPKI SHA-256", 14) << colon_hex(c.spki_sha256) << "\n";
}

void tls(std::ostringstream& o, const Findings& f) {
    if (!f.tls) return;
    o << "\nTLS (each handshake after an X.224 request for " << rdp::protocols_to_string(f.tls->via)
      << ")\n";
    for (const auto& v : f.tls->versions) {
        o << "  TLS " << pad(v.version, 6);
        if (!v.accepted) {
            o << "refused   " << v.refusal << "\n";
            continue;
        }
        o << "accepted  " << v.ciphers.size() << " suite(s)"
          << (v.complete ? "" : " (enumeration stopped at the bound)")
          << ", order: " << to_string(v.order);
        if (v.secure_renegotiation)
            o << ", secure renegotiation: " << yes_no(v.secure_renegotiation);
        o << "\n";
        for (const auto& c : v.ciphers) {
            o << "      " << pad(c.name, 34) << pad(std::to_string(c.bits) + " bits", 9)
              << pad("kx " + c.key_exchange, 8) << (c.forward_secrecy ? "FS " : "   ")
              << (c.aead ? "AEAD" : "    ") << "\n";
        }
    }
    if (f.tls->certificate) {
        o << "  certificate\n";
        certificate(o, *f.tls->certificate, "    ");
    }
}

void rdp_security(std::ostringstream& o, const Findings& f) {
    if (!f.rdp_security) return;
    const auto& r = *f.rdp_security;
    o << "\nStandard RDP Security (MCS Connect Initial offering one method at a time)\n";
    if (r.server_version)
        o << "  " << pad("server version", 14) << rdp_version_text(*r.server_version) << " ("
          << rdp::hex32(*r.server_version) << ")\n";
    auto line = [&](const std::string& label, const MethodResult& m) {
        o << "  " << pad(label, 14) << pad(std::string(to_string(m.outcome)), 10);
        if (m.outcome == MethodOutcome::accepted || m.outcome == MethodOutcome::overridden)
            o << "host selected " << rdp::encryption_methods_to_string(m.selected) << ", level "
              << rdp::to_string(m.level)
              << (m.outcome == MethodOutcome::overridden ? " (not what was offered)" : "");
        else
            o << m.detail;
        o << "\n";
    };
    for (const auto& m : r.methods) line(rdp::encryption_methods_to_string(m.offered), m);
    if (r.all) line("all four", *r.all);
    if (r.certificate) {
        const auto& c = *r.certificate;
        o << "  " << pad("certificate", 14)
          << (c.kind == rdp::CertificateKind::proprietary ? "proprietary" : "X.509 chain")
          << (c.temporary ? " (temporary)" : "") << ", RSA " << c.key_bits << " bits, exponent "
          << c.exponent;
        if (c.signature_valid)
            o << ", signature " << (*c.signature_valid ? "valid" : "INVALID")
              << " (Terminal Services signing key)";
        o << "\n";
        if (c.x509_leaf) certificate(o, *c.x509_leaf, "    ");
    }
}

std::string or_dash(const std::string& s) {
    return s.empty() ? "-" : s;
}

// Labels and plain hex as `rdpbridge hosts show` prints them, so the two can be compared by eye
// (or by diff) when the gateway reports a changed key.
void identity_lines(std::ostringstream& o, const rdp::HostIdentity& id) {
    o << "  " << pad("layers", 24) << rdp::to_string(id.layers) << "\n"
      << "  " << pad("TLS certificate sha256", 24) << or_dash(id.tls_cert_sha256) << "\n"
      << "  " << pad("TLS key (SPKI) sha256", 24) << or_dash(id.tls_spki_sha256) << "\n"
      << "  " << pad("RDP key sha256", 24) << or_dash(id.rdp_key_sha256) << "\n";
}

void identity(std::ostringstream& o, const Findings& f) {
    o << "\nHost identity (compare with `rdpbridge hosts show NAME`)\n";
    identity_lines(o, host_identity(f));
}

void trusted(std::ostringstream& o, const Findings& f) {
    if (!f.trusted) return;
    const auto& t = *f.trusted;
    o << "\nRecorded as trusted for backend \"" << t.backend << "\" at " << t.address << " in "
      << t.store << "\n";
    identity_lines(o, t.identity);
    for (const auto& field : t.replaced) o << "  (replaced the " << field << " recorded before)\n";
}

// One line: the probe asks for no channels, so it cannot see what the gateway will keep from
// the host; the config says it.
void channel_policy(std::ostringstream& o, const Findings& f) {
    if (!f.channel_policy) return;
    const auto& p = *f.channel_policy;
    o << "\nBackend \"" << p.backend
      << "\" channel policy: " << (p.policy.empty() ? "none of its own" : p.policy);
    for (const auto& r : p.routes) o << "; route " << r;
    o << " (enforced by the gateway; the probe asks for no channels)\n";
}

void verdict(std::ostringstream& o, const Findings& f) {
    const auto& v = f.verdict;
    o << "\nNLA\n  " << pad("required", 14) << (f.nla.required ? "yes" : "no") << "\n  "
      << pad("offered", 14) << (f.nla.supported ? "yes" : "no") << "\n  " << pad("CredSSP", 14)
      << (f.nla.credssp_version.empty() ? "not determined" : f.nla.credssp_version) << "\n  "
      << f.nla.note << "\n";
    o << "\nProblems a modern hardened client will hit\n";
    if (v.problems.empty()) o << "  (none found)\n";
    for (const auto& p : v.problems) {
        o << "  - " << (p.cause.empty() ? "" : "[" + p.cause + "] ") << p.summary << "\n"
          << "      why: " << p.why << "\n"
          << "      fix: " << p.fix << "\n";
    }
    o << "\nRisks\n";
    if (v.risks.empty()) o << "  (none found)\n";
    for (const auto& r : v.risks) o << "  - " << r << "\n";
    o << "\nBackend profile for rdpbridge.toml (pair it with a [[listener]] whose "
         "default_backend = \""
      << v.recommendation.backend.name << "\"):\n\n"
      << v.toml;
}

}  // namespace

std::string human_report(const Findings& f) {
    if (f.reach != Reach::rdp) return one_line(f) + "\n";
    std::ostringstream o;
    o << "rdpbridge probe " << target_text(f.target) << " (" << f.address << "): " << f.connections
      << " connection(s), " << fixed(f.elapsed_ms / 1000.0, 2) << " s"
      << (f.budget_exhausted ? " (time budget spent: some results are incomplete)" : "") << "\n\n"
      << pad("Verdict", 8) << f.verdict.era << "\n";
    layers(o, f);
    tls(o, f);
    rdp_security(o, f);
    identity(o, f);
    verdict(o, f);
    trusted(o, f);
    channel_policy(o, f);
    return o.str();
}

}  // namespace rdpbridge::probe

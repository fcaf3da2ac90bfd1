// json_report() from report.hpp. Field names and meanings are a public interface: change
// them only together with docs/probe.md, kJsonSchema and tests/unit/probe_report_test.cpp.
#include <cmath>
#include <nlohmann/json.hpp>

#include "proxy/probe/report.hpp"
#include "proxy/probe/verdict.hpp"
#include "proxy/probe/wording.hpp"

namespace rdpbridge::probe {

namespace {

using Json = nlohmann::ordered_json;

Json optional_bool(std::optional<bool> v) {
    return v ? Json(*v) : Json(nullptr);
}

Json layer(const LayerResult& l) {
    Json j{{"request", l.name},
           {"requested_protocols", l.requested},
           {"answer", std::string(to_string(l.answer))},
           {"selected", nullptr},
           {"flags", Json::array()},
           {"failure", nullptr},
           {"text", answer_text(l)}};
    if (l.answer == LayerAnswer::selected) {
        j["selected"] = rdp::protocols_to_string(l.selected);
        j["flags"] = neg_flag_names(l.flags);
    }
    if (l.failure) j["failure"] = rdp::to_string(*l.failure);
    return j;
}

Json certificate(const CertificateFacts& c) {
    return Json{{"subject", c.subject},
                {"issuer", c.issuer},
                {"subject_alt_names", c.subject_alt_names},
                {"not_before", c.not_before},
                {"not_after", c.not_after},
                {"days_left", c.days_left},
                {"expired", c.expired},
                {"not_yet_valid", c.not_yet_valid},
                {"key_type", c.key_type},
                {"key_bits", c.key_bits},
                {"signature_algorithm", c.signature_algorithm},
                {"self_signed", c.self_signed},
                {"sha256", c.sha256},
                {"spki_sha256", c.spki_sha256}};
}

Json optional_text(const std::string& s) {
    return s.empty() ? Json(nullptr) : Json(s);
}

// The known-hosts store's field names, so that a report and `rdpbridge hosts show --json` can
// be compared key by key.
Json identity(const rdp::HostIdentity& id) {
    Json layers = Json::array();
    if (id.layers.tls) layers.push_back("TLS");
    if (id.layers.nla) layers.push_back("NLA");
    if (id.layers.rdp) layers.push_back("RDP");
    return Json{{"tls_cert_sha256", optional_text(id.tls_cert_sha256)},
                {"tls_spki_sha256", optional_text(id.tls_spki_sha256)},
                {"rdp_key_sha256", optional_text(id.rdp_key_sha256)},
                {"layers", layers}};
}

Json trusted(const TrustRecord& t) {
    return Json{{"backend", t.backend},
                {"address", t.address},
                {"store", t.store},
                {"identity", identity(t.identity)},
                {"replaced", t.replaced}};
}

Json tls(const TlsFindings& t) {
    Json versions = Json::array();
    for (const auto& v : t.versions) {
        Json ciphers = Json::array();
        for (const auto& c : v.ciphers) {
            ciphers.push_back(Json{{"name", c.name},
                                   {"iana", c.iana},
                                   {"bits", c.bits},
                                   {"key_exchange", c.key_exchange},
                                   {"forward_secrecy", c.forward_secrecy},
                                   {"aead", c.aead}});
        }
        versions.push_back(Json{{"version", v.version},
                                {"accepted", v.accepted},
                                {"refusal", v.accepted ? Json(nullptr) : Json(v.refusal)},
                                {"ciphers", ciphers},
                                {"order", std::string(to_string(v.order))},
                                {"secure_renegotiation", optional_bool(v.secure_renegotiation)},
                                {"complete", v.complete}});
    }
    return Json{{"via", rdp::protocols_to_string(t.via)},
                {"versions", versions},
                {"certificate", t.certificate ? certificate(*t.certificate) : Json(nullptr)}};
}

Json method(const MethodResult& m) {
    const bool accepted =
        m.outcome == MethodOutcome::accepted || m.outcome == MethodOutcome::overridden;
    return Json{{"offered", rdp::encryption_methods_to_string(m.offered)},
                {"outcome", std::string(to_string(m.outcome))},
                {"selected",
                 accepted ? Json(rdp::encryption_methods_to_string(m.selected)) : Json(nullptr)},
                {"level", accepted ? Json(rdp::to_string(m.level)) : Json(nullptr)},
                {"detail", m.detail}};
}

Json rdp_security(const RdpSecurityFindings& r) {
    Json methods = Json::array();
    for (const auto& m : r.methods) methods.push_back(method(m));
    Json cert = nullptr;
    if (r.certificate) {
        const auto& c = *r.certificate;
        cert = Json{{"kind", c.kind == rdp::CertificateKind::proprietary ? "proprietary" : "x509"},
                    {"temporary", c.temporary},
                    {"key_bits", c.key_bits},
                    {"exponent", c.exponent},
                    {"signature_valid", optional_bool(c.signature_valid)},
                    {"chain_length", c.chain_length},
                    {"x509_leaf", c.x509_leaf ? certificate(*c.x509_leaf) : Json(nullptr)},
                    {"key_sha256", optional_text(c.key_sha256)}};
    }
    return Json{
        {"server_version", r.server_version ? Json(rdp::hex32(*r.server_version)) : Json(nullptr)},
        {"server_version_text",
         r.server_version ? Json(rdp_version_text(*r.server_version)) : Json(nullptr)},
        {"methods", methods},
        {"all", r.all ? method(*r.all) : Json(nullptr)},
        {"certificate", cert}};
}

Json verdict(const Findings& f) {
    const auto& v = f.verdict;
    Json problems = Json::array();
    for (const auto& p : v.problems) {
        problems.push_back(Json{{"cause", p.cause.empty() ? Json(nullptr) : Json(p.cause)},
                                {"summary", p.summary},
                                {"why", p.why},
                                {"fix", p.fix}});
    }
    const auto& r = v.recommendation;
    return Json{{"era", v.era},
                {"problems", problems},
                {"risks", v.risks},
                {"backend", Json{{"usable", r.usable},
                                 {"name", r.backend.name},
                                 {"security", std::string(config::to_string(r.backend.security))},
                                 {"verified", optional_bool(r.verified)},
                                 {"verification_detail", r.verification_detail},
                                 {"toml", v.toml}}}};
}

}  // namespace

std::string json_report(const Findings& f) {
    Json j{{"schema", kJsonSchema},
           {"target", Json{{"host", f.target.host},
                           {"port", f.target.port},
                           {"sni", f.target.sni.empty() ? Json(nullptr) : Json(f.target.sni)},
                           {"address", f.address.empty() ? Json(nullptr) : Json(f.address)}}},
           {"result", std::string(to_string(f.reach))},
           {"exit_code", exit_code(f)},
           {"summary", f.reach == Reach::rdp ? f.verdict.era : one_line(f)},
           {"error", nullptr},
           {"connections", f.connections},
           {"elapsed_ms", std::round(f.elapsed_ms)},
           {"budget_exhausted", f.budget_exhausted}};
    if (f.unreachable) {
        j["error"] = Json{{"cause", std::string(rdp::describe(f.unreachable->cause).id)},
                          {"detail", f.unreachable->detail}};
    }
    // Every key is always present (null or empty when the host was not an RDP host), so that
    // consumers can rely on the shape.
    Json layers = Json::array();
    for (const auto& l : f.layers) layers.push_back(layer(l));
    j["layers"] = layers;
    j["tls"] = f.tls ? tls(*f.tls) : Json(nullptr);
    j["rdp_security"] = f.rdp_security ? rdp_security(*f.rdp_security) : Json(nullptr);
    const bool rdp = f.reach == Reach::rdp;
    j["nla"] =
        !rdp ? Json(nullptr)
             : Json{{"required", f.nla.required},
                    {"supported", f.nla.supported},
                    {"credssp_version",
                     f.nla.credssp_version.empty() ? Json(nullptr) : Json(f.nla.credssp_version)},
                    {"note", f.nla.note}};
    j["identity"] = rdp ? identity(host_identity(f)) : Json(nullptr);
    j["verdict"] = rdp ? verdict(f) : Json(nullptr);
    j["trust"] = f.trusted ? trusted(*f.trusted) : Json(nullptr);
    j["channel_policy"] =
        f.channel_policy
            ? Json{{"backend", f.channel_policy->backend},
                   {"policy", f.channel_policy->policy.empty() ? Json(nullptr)
                                                               : Json(f.channel_policy->policy)},
                   {"routes", f.channel_policy->routes}}
            : Json(nullptr);
    return j.dump(2) + "\n";
}

}  // namespace rdpbridge::probe

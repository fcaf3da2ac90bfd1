// The JSON report's schema (docs/probe.md) and the one-line results: a change here is a change
// of a public interface.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "proxy/probe/report.hpp"
#include "proxy/probe/verdict.hpp"

using namespace rdpbridge;
using namespace rdpbridge::probe;
using Json = nlohmann::json;

namespace {

Findings rdp_host() {
    Findings f;
    f.target = {"192.0.2.7", 3389, ""};
    f.address = "192.0.2.7";
    LayerResult ssl;
    ssl.name = "SSL";
    ssl.requested = ssl.selected = rdp::protocol::ssl;
    ssl.answer = LayerAnswer::selected;
    ssl.flags = rdp::neg_rsp_flags::extended_client_data_supported;
    LayerResult rdp;
    rdp.name = "RDP";
    rdp.answer = LayerAnswer::failure;
    rdp.failure = rdp::NegFailureCode::ssl_required_by_server;
    f.layers = {rdp, ssl};
    TlsFindings tls;
    tls.via = rdp::protocol::ssl;
    TlsVersionResult v10;
    v10.version = "1.0";
    v10.accepted = true;
    v10.secure_renegotiation = true;
    CipherFacts c;
    c.name = "AES256-SHA";
    c.iana = "TLS_RSA_WITH_AES_256_CBC_SHA";
    c.bits = 256;
    c.key_exchange = "RSA";
    v10.ciphers = {c};
    TlsVersionResult v13;
    v13.version = "1.3";
    v13.refusal = "host_tls_version_mismatch: ...";
    tls.versions = {v10, v13};
    CertificateFacts cert;
    cert.subject = cert.issuer = "CN=host";
    cert.sha256 = std::string(64, 'b');
    cert.spki_sha256 = std::string(64, 'c');
    cert.key_type = "RSA";
    cert.key_bits = 2048;
    tls.certificate = cert;
    f.tls = tls;
    f.nla.note = "no NLA";
    f.verdict = judge(f);
    return f;
}

void expect_keys(const Json& j, std::initializer_list<const char*> keys) {
    for (const char* k : keys) EXPECT_TRUE(j.contains(k)) << "missing key " << k << " in " << j;
    EXPECT_EQ(j.size(), keys.size()) << "unexpected keys in " << j.dump();
}

}  // namespace

TEST(ProbeJson, TopLevelShapeIsStable) {
    for (const auto& f : {rdp_host(), Findings{}}) {
        const auto j = Json::parse(json_report(f));
        expect_keys(j, {"schema", "target", "result", "exit_code", "summary", "error",
                        "connections", "elapsed_ms", "budget_exhausted", "layers", "tls",
                        "rdp_security", "nla", "identity", "verdict", "trust", "channel_policy"});
        EXPECT_EQ(j["schema"], "rdpbridge.probe/1");
        expect_keys(j["target"], {"host", "port", "sni", "address"});
    }
}

TEST(ProbeJson, RdpHost) {
    const auto j = Json::parse(json_report(rdp_host()));
    EXPECT_EQ(j["result"], "rdp");
    EXPECT_EQ(j["exit_code"], 0);
    EXPECT_TRUE(j["error"].is_null());

    const auto& rdp = j["layers"][0];
    expect_keys(
        rdp, {"request", "requested_protocols", "answer", "selected", "flags", "failure", "text"});
    EXPECT_EQ(rdp["answer"], "failure");
    EXPECT_EQ(rdp["failure"], "SSL_REQUIRED_BY_SERVER");
    EXPECT_TRUE(rdp["selected"].is_null());
    const auto& ssl = j["layers"][1];
    EXPECT_EQ(ssl["answer"], "selected");
    EXPECT_EQ(ssl["selected"], "SSL");
    EXPECT_EQ(ssl["flags"], Json::array({"EXTENDED_CLIENT_DATA_SUPPORTED"}));

    expect_keys(j["tls"], {"via", "versions", "certificate"});
    EXPECT_EQ(j["tls"]["via"], "SSL");
    const auto& v10 = j["tls"]["versions"][0];
    expect_keys(v10, {"version", "accepted", "refusal", "ciphers", "order", "secure_renegotiation",
                      "complete"});
    EXPECT_EQ(v10["version"], "1.0");
    EXPECT_TRUE(v10["refusal"].is_null());
    EXPECT_EQ(v10["order"], "unknown");
    EXPECT_EQ(v10["secure_renegotiation"], true);
    expect_keys(v10["ciphers"][0],
                {"name", "iana", "bits", "key_exchange", "forward_secrecy", "aead"});
    EXPECT_EQ(v10["ciphers"][0]["iana"], "TLS_RSA_WITH_AES_256_CBC_SHA");
    const auto& v13 = j["tls"]["versions"][1];
    EXPECT_FALSE(v13["accepted"]);
    EXPECT_TRUE(v13["secure_renegotiation"].is_null());
    expect_keys(j["tls"]["certificate"],
                {"subject", "issuer", "subject_alt_names", "not_before", "not_after", "days_left",
                 "expired", "not_yet_valid", "key_type", "key_bits", "signature_algorithm",
                 "self_signed", "sha256", "spki_sha256"});
    EXPECT_EQ(j["tls"]["certificate"]["spki_sha256"], std::string(64, 'c'));

    EXPECT_TRUE(j["rdp_security"].is_null());
    expect_keys(j["nla"], {"required", "supported", "credssp_version", "note"});
    EXPECT_TRUE(j["nla"]["credssp_version"].is_null());
    expect_keys(j["verdict"], {"era", "problems", "risks", "backend"});
    expect_keys(j["verdict"]["problems"][0], {"cause", "summary", "why", "fix"});
    expect_keys(j["verdict"]["backend"],
                {"usable", "name", "security", "verified", "verification_detail", "toml"});
    EXPECT_EQ(j["verdict"]["backend"]["security"], "tls");
    EXPECT_TRUE(j["verdict"]["backend"]["verified"].is_null());  // not confirmed by a handshake

    // The store's field names, so that it compares with `rdpbridge hosts show --json`.
    expect_keys(j["identity"], {"tls_cert_sha256", "tls_spki_sha256", "rdp_key_sha256", "layers"});
    EXPECT_EQ(j["identity"]["tls_cert_sha256"], std::string(64, 'b'));
    EXPECT_EQ(j["identity"]["tls_spki_sha256"], std::string(64, 'c'));
    EXPECT_TRUE(j["identity"]["rdp_key_sha256"].is_null());
    EXPECT_EQ(j["identity"]["layers"], Json::array({"TLS"}));
    EXPECT_TRUE(j["trust"].is_null());
}

TEST(ProbeJson, StandardRdpSecurity) {
    Findings f = rdp_host();
    RdpSecurityFindings r;
    MethodResult m;
    m.offered = rdp::encryption_method::bits40;
    m.outcome = MethodOutcome::overridden;
    m.selected = rdp::encryption_method::bits128;
    m.level = rdp::EncryptionLevel::high;
    r.methods = {m};
    r.server_version = 0x00080004;
    RdpCertificateFacts cert;
    cert.key_bits = 2048;
    cert.exponent = 65537;
    cert.signature_valid = true;
    cert.key_sha256 = std::string(64, 'd');
    r.certificate = cert;
    f.rdp_security = r;
    const auto report = Json::parse(json_report(f));
    const auto& j = report["rdp_security"];
    expect_keys(j, {"server_version", "server_version_text", "methods", "all", "certificate"});
    EXPECT_EQ(j["server_version"], "0x00080004");
    expect_keys(j["methods"][0], {"offered", "outcome", "selected", "level", "detail"});
    EXPECT_EQ(j["methods"][0]["offered"], "40BIT");
    EXPECT_EQ(j["methods"][0]["outcome"], "overridden");
    EXPECT_EQ(j["methods"][0]["selected"], "128BIT");
    EXPECT_EQ(j["methods"][0]["level"], "HIGH");
    expect_keys(j["certificate"], {"kind", "temporary", "key_bits", "exponent", "signature_valid",
                                   "chain_length", "x509_leaf", "key_sha256"});
    EXPECT_EQ(j["certificate"]["kind"], "proprietary");
    EXPECT_EQ(j["certificate"]["key_sha256"], std::string(64, 'd'));
    EXPECT_EQ(report["identity"]["rdp_key_sha256"], std::string(64, 'd'));
}

TEST(ProbeIdentity, LayersAreWhatTheHostSelected) {
    Findings f;
    LayerResult hybrid;
    hybrid.name = "HYBRID";
    hybrid.answer = LayerAnswer::selected;
    hybrid.selected = rdp::protocol::hybrid;
    LayerResult refused;
    refused.name = "RDP";
    refused.answer = LayerAnswer::failure;
    f.layers = {refused, hybrid};
    EXPECT_EQ(host_identity(f).layers, (rdp::SecurityLayers{true, true, false}));

    // A pre-RDP-5.2 host answers without negotiation: Standard RDP Security, as the gateway
    // concludes from the same answer.
    LayerResult bare;
    bare.name = "RDP";
    bare.answer = LayerAnswer::no_negotiation;
    f.layers = {bare};
    EXPECT_EQ(host_identity(f).layers, (rdp::SecurityLayers{false, false, true}));

    // Nothing is an identity of a host that is not there.
    f.reach = Reach::not_rdp;
    EXPECT_TRUE(host_identity(f).layers.empty());
}

TEST(ProbeJson, TrustRecord) {
    Findings f = rdp_host();
    TrustRecord t;
    t.backend = "plc7";
    t.address = "192.0.2.7:3389";
    t.store = "/var/lib/rdpbridge/known_hosts.jsonl";
    t.identity = host_identity(f);
    t.replaced = {"tls_cert_sha256"};
    f.trusted = t;
    const auto j = Json::parse(json_report(f))["trust"];
    expect_keys(j, {"backend", "address", "store", "identity", "replaced"});
    EXPECT_EQ(j["backend"], "plc7");
    EXPECT_EQ(j["address"], "192.0.2.7:3389");
    EXPECT_EQ(j["identity"]["tls_cert_sha256"], std::string(64, 'b'));
    EXPECT_EQ(j["replaced"], Json::array({"tls_cert_sha256"}));

    const auto text = human_report(f);
    EXPECT_NE(text.find("Recorded as trusted for backend \"plc7\" at 192.0.2.7:3389 in "
                        "/var/lib/rdpbridge/known_hosts.jsonl"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("(replaced the tls_cert_sha256 recorded before)"), std::string::npos);
}

// With --trust NAME -c CONFIG the report says what the gateway will keep from the host, which
// the probe, asking for no channels, cannot see.
TEST(ProbeReport, ABackendsChannelPolicyIsOneLine) {
    Findings f = rdp_host();
    EXPECT_TRUE(Json::parse(json_report(f))["channel_policy"].is_null());
    EXPECT_EQ(human_report(f).find("channel policy"), std::string::npos);

    f.channel_policy =
        ConfiguredChannelPolicy{"plc7", "channels deny cliprdr; devices deny drive", {}};
    const auto text = human_report(f);
    EXPECT_NE(text.find("\nBackend \"plc7\" channel policy: channels deny cliprdr; devices deny "
                        "drive (enforced by the gateway; the probe asks for no channels)\n"),
              std::string::npos)
        << text;
    const auto j = Json::parse(json_report(f))["channel_policy"];
    expect_keys(j, {"backend", "policy", "routes"});
    EXPECT_EQ(j["backend"], "plc7");
    EXPECT_EQ(j["policy"], "channels deny cliprdr; devices deny drive");
    EXPECT_EQ(j["routes"], Json::array());

    f.channel_policy = ConfiguredChannelPolicy{"plc7", "", {"mstshash=ops*: channels allow rdpdr"}};
    EXPECT_NE(human_report(f).find("Backend \"plc7\" channel policy: none of its own; route "
                                   "mstshash=ops*: channels allow rdpdr (enforced by"),
              std::string::npos)
        << human_report(f);
    EXPECT_TRUE(Json::parse(json_report(f))["channel_policy"]["policy"].is_null());
}

TEST(ProbeJson, UnreachableHost) {
    Findings f;
    f.target = {"192.0.2.9", 3389, ""};
    f.reach = Reach::unreachable;
    f.unreachable = Unreachable{rdp::Cause::connection_refused, "Connection refused"};
    const auto j = Json::parse(json_report(f));
    EXPECT_EQ(j["result"], "unreachable");
    EXPECT_EQ(j["exit_code"], 1);
    EXPECT_EQ(j["error"]["cause"], "connection_refused");
    EXPECT_EQ(j["layers"], Json::array());
    EXPECT_TRUE(j["verdict"].is_null());
}

TEST(ProbeReport, ExitCodes) {
    Findings f;
    EXPECT_EQ(exit_code(f), 0);
    f.reach = Reach::unreachable;
    EXPECT_EQ(exit_code(f), 1);
    f.reach = Reach::not_rdp;
    EXPECT_EQ(exit_code(f), 4);
}

TEST(ProbeReport, NotAnRdpHostIsOneLine) {
    Findings f;
    f.target = {"192.0.2.9", 8080, ""};
    f.address = "192.0.2.9";
    f.reach = Reach::not_rdp;
    f.unreachable = Unreachable{rdp::Cause::host_silent, "accepts TCP but sent nothing"};
    EXPECT_EQ(human_report(f),
              "192.0.2.9:8080: not RDP (host_silent): accepts TCP but sent nothing\n");
}

// The labels and plain hex of `rdpbridge hosts show`, so that an operator can compare them.
TEST(ProbeReport, HumanReportPrintsFingerprintsAsHostsShowDoes) {
    Findings f = rdp_host();
    RdpSecurityFindings r;
    RdpCertificateFacts cert;
    cert.key_sha256 = std::string(64, 'd');
    r.certificate = cert;
    f.rdp_security = r;
    const auto text = human_report(f);
    EXPECT_NE(text.find("Host identity"), std::string::npos) << text;
    EXPECT_NE(text.find("  TLS certificate sha256   " + std::string(64, 'b') + "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  TLS key (SPKI) sha256    " + std::string(64, 'c') + "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("  RDP key sha256           " + std::string(64, 'd') + "\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("SPKI SHA-256   cc:cc:"), std::string::npos) << text;

    const auto tls_only = human_report(rdp_host());
    EXPECT_NE(tls_only.find("  RDP key sha256           -\n"), std::string::npos) << tls_only;
    EXPECT_EQ(tls_only.find("Recorded as trusted"), std::string::npos);
}

TEST(ProbeReport, HumanReportHasEverySection) {
    const auto text = human_report(rdp_host());
    for (const char* section :
         {"Verdict", "Security layers", "TLS (", "certificate", "NLA",
          "Problems a modern hardened client will hit", "Risks", "[[backend]]"}) {
        EXPECT_NE(text.find(section), std::string::npos) << section << "\n" << text;
    }
}

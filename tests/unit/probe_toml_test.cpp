// The printed [[backend]] block: with a [[listener]] it must load through the real config
// loader and give back exactly the recommended backend.
#include <gtest/gtest.h>

#include "config/load.hpp"
#include "proxy/probe/toml_block.hpp"
#include "proxy/probe/verdict.hpp"

using namespace rdpbridge;
using namespace rdpbridge::probe;

namespace {

constexpr const char* kListener =
    "[[listener]]\nname = \"main\"\nbind = \"127.0.0.1:3389\"\ndefault_backend = \"";

Findings tls_host(const std::string& host, const std::string& sni) {
    Findings f;
    f.target = {host, 3390, sni};
    LayerResult ssl;
    ssl.name = "SSL";
    ssl.requested = ssl.selected = rdp::protocol::ssl;
    ssl.answer = LayerAnswer::selected;
    f.layers = {ssl};
    TlsFindings tls;
    tls.via = rdp::protocol::ssl;
    for (const char* v : {"1.0", "1.1", "1.2", "1.3"}) {
        TlsVersionResult r;
        r.version = v;
        r.accepted = std::string_view(v) == "1.0" || std::string_view(v) == "1.1";
        if (r.accepted) {
            CipherFacts c;
            c.name = "AES256-SHA";
            c.key_exchange = "RSA";
            r.ciphers = {c};
            r.secure_renegotiation = false;
        }
        tls.versions.push_back(r);
    }
    CertificateFacts cert;
    cert.subject = "CN=\"quoted\" \\ host";  // must survive TOML escaping in the comment
    cert.not_after = "2027-01-01T00:00:00Z";
    cert.sha256 = std::string(64, 'a');
    tls.certificate = cert;
    f.tls = tls;
    f.verdict = judge(f);
    return f;
}

config::Config load(const std::string& toml, const std::string& backend_name) {
    const std::string text = kListener + backend_name + "\"\n\n" + toml;
    auto loaded = config::parse(text, "probe.toml");
    if (auto* errors = std::get_if<std::vector<config::LoadError>>(&loaded)) {
        for (const auto& e : *errors) ADD_FAILURE() << e.to_string() << "\n" << text;
        return {};
    }
    return std::get<config::Config>(std::move(loaded));
}

}  // namespace

TEST(ProbeToml, LoadsBackAsTheRecommendedBackend) {
    const auto f = tls_host("plc7.plant.example", "plc7.plant.example");
    const auto& r = f.verdict.recommendation;
    const auto cfg = load(f.verdict.toml, r.backend.name);
    ASSERT_EQ(cfg.backends.size(), 1u);
    const auto& b = cfg.backends[0];
    EXPECT_EQ(b.name, "plc7.plant.example");
    EXPECT_EQ(b.address.host, "plc7.plant.example");
    EXPECT_EQ(b.address.port, 3390);
    EXPECT_EQ(b.security, config::BackendSecurity::tls);
    EXPECT_EQ(b.connect_timeout, r.backend.connect_timeout);
    EXPECT_EQ(b.tls.min_version, config::TlsVersion::tls1_1);
    EXPECT_EQ(b.tls.max_version, config::TlsVersion::tls1_1);
    EXPECT_EQ(b.tls.ciphers, "AES256-SHA");
    EXPECT_EQ(b.tls.security_level, 0);
    EXPECT_TRUE(b.tls.legacy_renegotiation);
    EXPECT_EQ(b.tls.verify, config::CertVerify::pin);
    EXPECT_EQ(b.tls.pin_sha256, std::string(64, 'a'));
    EXPECT_EQ(b.tls.sni, "plc7.plant.example");
}

TEST(ProbeToml, IPv6AddressesKeepTheirBrackets) {
    const auto f = tls_host("2001:db8::7", "");
    const auto cfg = load(f.verdict.toml, f.verdict.recommendation.backend.name);
    ASSERT_EQ(cfg.backends.size(), 1u);
    EXPECT_EQ(cfg.backends[0].address.host, "2001:db8::7");
    EXPECT_EQ(cfg.backends[0].address.port, 3390);
    EXPECT_EQ(f.verdict.toml.find("sni ="), std::string::npos);  // none unless asked for
}

TEST(ProbeToml, EveryValueSaysWhy) {
    const auto f = tls_host("192.0.2.7", "");
    const auto& toml = f.verdict.toml;
    for (const char* key : {"security = ", "min_version = ", "ciphers = ", "security_level = ",
                            "legacy_renegotiation = ", "verify = ", "pin_sha256 = "}) {
        const auto at = toml.find(key);
        ASSERT_NE(at, std::string::npos) << key << "\n" << toml;
        const auto line_start = toml.rfind('\n', at) + 1;
        const auto line_end = toml.find('\n', at);
        const auto previous = toml.rfind('\n', line_start - 2) + 1;
        const bool trailing =
            toml.substr(line_start, line_end - line_start).find(" # ") != std::string::npos;
        const bool above = toml.compare(previous, 2, "# ") == 0;
        EXPECT_TRUE(trailing || above) << key << "\n" << toml;
    }
}

namespace {

Findings rdp_only_host(const std::string& key_sha256) {
    Findings f;
    f.target = {"192.0.2.3", 3389, ""};
    LayerResult rdp;
    rdp.name = "RDP";
    rdp.answer = LayerAnswer::selected;
    f.layers = {rdp};
    if (!key_sha256.empty()) {
        RdpSecurityFindings r;
        RdpCertificateFacts cert;
        cert.key_bits = 2048;
        cert.exponent = 65537;
        cert.key_sha256 = key_sha256;
        r.certificate = cert;
        f.rdp_security = r;
    }
    f.verdict = judge(f);
    return f;
}

}  // namespace

// Its RSA key is all that identifies such a host: pinned, so that the gateway checks it before
// the client random and any credentials go out.
TEST(ProbeToml, StandardRdpSecurityHostPinsItsRdpKey) {
    const std::string key(64, 'e');
    const auto f = rdp_only_host(key);
    const auto& toml = f.verdict.toml;
    EXPECT_NE(toml.find("[backend.tls]"), std::string::npos) << toml;
    EXPECT_NE(toml.find("rdp_key_sha256 = \"" + key + "\""), std::string::npos) << toml;
    // Only what matters to a Standard RDP Security host: no versions, suites or certificate pin.
    for (const char* absent : {"pin_sha256", "min_version", "ciphers", "security_level"})
        EXPECT_EQ(toml.find(absent), std::string::npos) << absent << "\n" << toml;
    for (const char* why : {"# pin the host's Standard RDP Security key", "# RSA 2048 bits"})
        EXPECT_NE(toml.find(why), std::string::npos) << why << "\n" << toml;

    const auto cfg = load(toml, f.verdict.recommendation.backend.name);
    ASSERT_EQ(cfg.backends.size(), 1u);
    const auto& b = cfg.backends[0];
    EXPECT_EQ(b.security, config::BackendSecurity::rdp);
    EXPECT_EQ(b.tls.verify, config::CertVerify::pin);
    EXPECT_EQ(b.tls.rdp_key_sha256, key);
    EXPECT_TRUE(b.tls.pin_sha256.empty());
}

// Without a key the probe could read, the gateway's default learns it on first use.
TEST(ProbeToml, StandardRdpSecurityHostWithoutKeyHasNoTlsTable) {
    const auto f = rdp_only_host("");
    EXPECT_EQ(f.verdict.toml.find("[backend.tls]"), std::string::npos);
    const auto cfg = load(f.verdict.toml, f.verdict.recommendation.backend.name);
    ASSERT_EQ(cfg.backends.size(), 1u);
    EXPECT_EQ(cfg.backends[0].security, config::BackendSecurity::rdp);
    EXPECT_EQ(cfg.backends[0].tls.verify, config::CertVerify::tofu);
}

TEST(ProbeToml, StringsAreEscaped) {
    EXPECT_EQ(toml_string("plain"), "\"plain\"");
    EXPECT_EQ(toml_string("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    EXPECT_EQ(toml_string(std::string("\x01", 1)), "\"\\u0001\"");
}

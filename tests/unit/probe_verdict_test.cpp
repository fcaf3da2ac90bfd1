// The verdict over hand-made findings shaped like the hosts rdpbridge exists for.
#include <gtest/gtest.h>

#include <algorithm>

#include "proxy/probe/verdict.hpp"

using namespace rdpbridge;
using namespace rdpbridge::probe;

namespace {

constexpr const char* kSha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

LayerResult selected(const char* name, uint32_t requested, uint32_t chosen) {
    LayerResult l;
    l.name = name;
    l.requested = requested;
    l.answer = LayerAnswer::selected;
    l.selected = chosen;
    return l;
}

LayerResult failed(const char* name, uint32_t requested, rdp::NegFailureCode code) {
    LayerResult l;
    l.name = name;
    l.requested = requested;
    l.answer = LayerAnswer::failure;
    l.failure = code;
    return l;
}

CipherFacts suite(const char* name, const char* kx, bool aead) {
    CipherFacts c;
    c.name = name;
    c.bits = 256;
    c.key_exchange = kx;
    c.forward_secrecy = std::string_view(kx) != "RSA";
    c.aead = aead;
    return c;
}

TlsVersionResult version(const char* v, std::vector<CipherFacts> suites,
                         std::optional<bool> renegotiation = true) {
    TlsVersionResult r;
    r.version = v;
    r.accepted = !suites.empty();
    r.ciphers = std::move(suites);
    if (r.accepted && std::string_view(v) != "1.3") r.secure_renegotiation = renegotiation;
    if (!r.accepted) r.refusal = "host_tls_version_mismatch: alert protocol version";
    return r;
}

CertificateFacts certificate(int days_left) {
    CertificateFacts c;
    c.subject = c.issuer = "CN=host";
    c.not_before = "2025-01-01T00:00:00Z";
    c.not_after = "2026-01-01T00:00:00Z";
    c.days_left = days_left;
    c.expired = days_left < 0;
    c.key_type = "RSA";
    c.key_bits = 2048;
    c.signature_algorithm = "sha256WithRSAEncryption";
    c.self_signed = true;
    c.sha256 = kSha256;
    return c;
}

// A Windows 7 / 2008 R2 host: TLS 1.0 with RSA key exchange only, no NLA.
Findings win7() {
    Findings f;
    f.target = {"plc7.example", 3389, ""};
    f.address = "192.0.2.7";
    f.layers = {failed("RDP", 0, rdp::NegFailureCode::ssl_required_by_server),
                selected("SSL", 1, 1)};
    TlsFindings tls;
    tls.via = rdp::protocol::ssl;
    tls.versions = {
        version("1.0", {suite("AES256-SHA", "RSA", false), suite("AES128-SHA", "RSA", false)}),
        version("1.1", {}), version("1.2", {}), version("1.3", {})};
    tls.certificate = certificate(200);
    f.tls = tls;
    return f;
}

Findings modern() {
    Findings f = win7();
    f.tls->versions = {version("1.0", {}), version("1.1", {}),
                       version("1.2", {suite("ECDHE-RSA-AES256-GCM-SHA384", "ECDH", true),
                                       suite("AES256-SHA", "RSA", false),
                                       suite("DHE-RSA-AES128-GCM-SHA256", "DH", true)}),
                       version("1.3", {suite("TLS_AES_256_GCM_SHA384", "any", true)})};
    return f;
}

// An XP / 2003 host: Standard RDP Security at 128-bit, level HIGH.
Findings xp() {
    Findings f;
    f.target = {"192.0.2.3", 3389, ""};
    f.address = "192.0.2.3";
    f.layers = {selected("RDP", 0, 0),
                failed("SSL", 1, rdp::NegFailureCode::ssl_not_allowed_by_server)};
    RdpSecurityFindings rdp;
    MethodResult m;
    m.offered = m.selected = rdp::encryption_method::bits128;
    m.outcome = MethodOutcome::accepted;
    m.level = rdp::EncryptionLevel::high;
    rdp.methods = {m};
    rdp.all = m;
    f.rdp_security = rdp;
    return f;
}

std::vector<std::string> causes(const Findings& f) {
    std::vector<std::string> out;
    for (const auto& p : problems(f)) out.push_back(p.cause);
    return out;
}

bool has(const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

bool mentions(const std::vector<std::string>& v, std::string_view s) {
    return std::any_of(v.begin(), v.end(),
                       [&](const auto& x) { return x.find(s) != std::string::npos; });
}

}  // namespace

TEST(ProbeVerdict, Windows7ClassHost) {
    const auto f = win7();
    EXPECT_NE(era(f).find("TLS 1.0 only"), std::string::npos) << era(f);
    const auto c = causes(f);
    EXPECT_TRUE(has(c, "host_tls_version_mismatch"));
    EXPECT_TRUE(has(c, "host_certificate_untrusted"));  // self-signed
    EXPECT_FALSE(has(c, "host_certificate_expired"));
    const auto r = risks(f);
    EXPECT_TRUE(mentions(r, "No NLA"));
    EXPECT_TRUE(mentions(r, "TLS 1.0 accepted"));
    EXPECT_TRUE(mentions(r, "No forward secrecy"));
}

TEST(ProbeVerdict, Windows7ClassHostProfile) {
    const auto r = recommend(win7());
    EXPECT_TRUE(r.usable);
    const auto& b = r.backend;
    EXPECT_EQ(b.name, "plc7.example");
    EXPECT_EQ(b.security, config::BackendSecurity::tls);
    EXPECT_EQ(b.tls.min_version, config::TlsVersion::tls1_0);
    EXPECT_EQ(b.tls.max_version, config::TlsVersion::tls1_0);
    EXPECT_EQ(b.tls.ciphers, "AES256-SHA:AES128-SHA");  // the host's, in its order
    EXPECT_EQ(b.tls.security_level, 0);                 // OpenSSL 3 needs it for TLS 1.0
    EXPECT_FALSE(b.tls.legacy_renegotiation);
    EXPECT_EQ(b.tls.verify, config::CertVerify::pin);
    EXPECT_EQ(b.tls.pin_sha256, kSha256);
}

TEST(ProbeVerdict, ModernHostKeepsOnlyStrongSuitesAndNoLegacyTls) {
    const auto f = modern();
    EXPECT_EQ(era(f).rfind("modern", 0), 0u) << era(f);
    EXPECT_FALSE(has(causes(f), "host_tls_version_mismatch"));
    const auto r = recommend(f);
    EXPECT_EQ(r.backend.tls.min_version, config::TlsVersion::tls1_2);
    EXPECT_EQ(r.backend.tls.max_version, config::TlsVersion::tls1_3);
    EXPECT_EQ(r.backend.tls.ciphers, "ECDHE-RSA-AES256-GCM-SHA384:DHE-RSA-AES128-GCM-SHA256");
    EXPECT_EQ(r.backend.tls.security_level, 2);
    EXPECT_EQ(with_security_level(r, 0).backend.tls.security_level, 0);
}

TEST(ProbeVerdict, Tls12WithoutForwardSecrecyFailsHardenedClients) {
    auto f = modern();
    f.tls->versions[2] = version("1.2", {suite("AES256-SHA", "RSA", false)}, false);
    f.tls->versions[3] = version("1.3", {});
    const auto c = causes(f);
    EXPECT_TRUE(has(c, "host_no_shared_cipher"));
    EXPECT_TRUE(has(c, "host_requires_insecure_renegotiation"));
    EXPECT_TRUE(recommend(f).backend.tls.legacy_renegotiation);
}

TEST(ProbeVerdict, ExpiredCertificateSaysSinceWhenAndTheFix) {
    auto f = win7();
    f.tls->certificate = certificate(-12);
    const auto all = problems(f);
    const auto it = std::find_if(all.begin(), all.end(), [](const auto& p) {
        return p.cause == "host_certificate_expired";
    });
    ASSERT_NE(it, all.end());
    EXPECT_NE(it->summary.find("expired 12 day(s) ago"), std::string::npos) << it->summary;
    EXPECT_NE(it->fix.find("certlm.msc"), std::string::npos);
    // The pin still reaches it: the gateway accepts an expired certificate it pins.
    EXPECT_EQ(recommend(f).backend.tls.verify, config::CertVerify::pin);
}

TEST(ProbeVerdict, StandardRdpSecurityOnlyHost) {
    const auto f = xp();
    EXPECT_NE(era(f).find("XP / Server 2003"), std::string::npos);
    EXPECT_TRUE(has(causes(f), "host_ssl_not_allowed"));
    EXPECT_TRUE(mentions(risks(f), "Terminal Services signing key"));
    const auto r = recommend(f);
    EXPECT_TRUE(r.usable);
    EXPECT_EQ(r.backend.security, config::BackendSecurity::rdp);
    EXPECT_FALSE(r.has_tls);
}

TEST(ProbeVerdict, ExportGradeEncryptionIsARisk) {
    auto f = xp();
    f.rdp_security->methods[0].offered = rdp::encryption_method::bits40;
    EXPECT_TRUE(mentions(risks(f), "40BIT"));
}

TEST(ProbeVerdict, HostWithoutNegotiation) {
    auto f = xp();
    f.layers = {LayerResult{}};
    f.layers[0].name = "RDP";
    f.layers[0].answer = LayerAnswer::no_negotiation;
    EXPECT_NE(era(f).find("predates RDP negotiation"), std::string::npos);
    EXPECT_TRUE(has(causes(f), "host_predates_negotiation"));
    EXPECT_EQ(recommend(f).backend.security, config::BackendSecurity::rdp);
}

TEST(ProbeVerdict, NlaOnlyHostIsUsableWithCredentials) {
    auto f = modern();
    f.layers = {failed("SSL", 1, rdp::NegFailureCode::hybrid_required_by_server),
                selected("HYBRID", 3, 2)};
    f.tls->via = rdp::protocol::hybrid | rdp::protocol::ssl;
    f.nla.required = f.nla.supported = true;
    EXPECT_TRUE(has(causes(f), "host_hybrid_required"));
    EXPECT_FALSE(mentions(risks(f), "NLA"));
    const auto r = recommend(f);
    EXPECT_TRUE(r.usable);
    EXPECT_FALSE(mentions(r.notes, "NOT USABLE"));
    EXPECT_TRUE(mentions(r.notes, "nla_users"));
    EXPECT_TRUE(mentions(r.notes, "[backend.credentials]"));
}

TEST(ProbeVerdict, NothingToSayAboutAnUnreachableHost) {
    Findings f;
    f.reach = Reach::unreachable;
    EXPECT_EQ(era(f), "");
    EXPECT_TRUE(problems(f).empty());
    EXPECT_TRUE(judge(f).toml.empty());
}

TEST(ProbeVerdict, BackendNameIsSafe) {
    EXPECT_EQ(backend_name({"plc7.plant.example", 3389, ""}), "plc7.plant.example");
    EXPECT_EQ(backend_name({"2001:db8::7", 3389, ""}), "2001-db8--7");
    EXPECT_EQ(backend_name({"", 3389, ""}), "host");
}

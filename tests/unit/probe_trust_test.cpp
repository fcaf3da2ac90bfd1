// `rdpbridge probe --trust`: what reaches the known-hosts store, and the refusals that name their
// file, on a real temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "proxy/probe/trust_record.hpp"
#include "proxy/trust/known_hosts.hpp"
#include "temp_dir.hpp"

using namespace rdpbridge;
using namespace rdpbridge::probe;
namespace trust = rdpbridge::proxy::trust;

namespace {

class ProbeTrust : public ::testing::Test {
  protected:
    rdpbridge::test_support::TempDir temp_{"probe_trust_test"};
    const std::filesystem::path dir_ = temp_.path();

    // A config whose state_dir is the test's directory, with one backend.
    std::string config(const std::string& backend, const std::string& address,
                       const std::string& extra = "") {
        const auto file = (dir_ / "rdpbridge.toml").string();
        std::ofstream(file) << "state_dir = \"" << dir_.string()
                            << "\"\n\n[[listener]]\nname = \"main\"\nbind = \"127.0.0.1:3389\"\n"
                               "default_backend = \""
                            << backend << "\"\n\n[[backend]]\nname = \"" << backend
                            << "\"\naddress = \"" << address << "\"\n"
                            << extra;
        return file;
    }

    TrustTarget prepared(const Target& target, const std::string& config_file,
                         const std::string& state_dir) {
        auto p = prepare_trust("plc7", target, config_file, state_dir);
        if (auto* e = std::get_if<TrustError>(&p)) {
            for (const auto& m : e->messages) ADD_FAILURE() << m;
            return {};
        }
        return std::get<TrustTarget>(std::move(p));
    }
};

Findings tls_and_rdp_host(char cert_digit) {
    Findings f;
    f.target = {"192.0.2.7", 3389, ""};
    LayerResult rdp;
    rdp.name = "RDP";
    rdp.answer = LayerAnswer::selected;
    rdp.selected = rdp::protocol::rdp;
    LayerResult ssl;
    ssl.name = "SSL";
    ssl.answer = LayerAnswer::selected;
    ssl.selected = rdp::protocol::ssl;
    f.layers = {rdp, ssl};
    TlsFindings tls;
    CertificateFacts cert;
    cert.sha256 = std::string(64, cert_digit);
    cert.spki_sha256 = std::string(64, 'b');
    tls.certificate = cert;
    f.tls = tls;
    RdpSecurityFindings r;
    RdpCertificateFacts key;
    key.key_sha256 = std::string(64, 'c');
    r.certificate = key;
    f.rdp_security = r;
    return f;
}

std::string errors_of(const std::variant<TrustTarget, TrustError>& p) {
    std::string all;
    if (const auto* e = std::get_if<TrustError>(&p))
        for (const auto& m : e->messages) all += m + "\n";
    return all;
}

}  // namespace

TEST_F(ProbeTrust, RecordsWhatWasSeenAsTheGatewayWouldFindIt) {
    const auto t = prepared({"192.0.2.7", 3389, ""}, "", dir_.string());
    EXPECT_EQ(t.store, trust::Store::in(dir_));
    const auto r = record_trust(t, tls_and_rdp_host('a'));
    EXPECT_EQ(r.backend, "plc7");
    EXPECT_EQ(r.address, "192.0.2.7:3389");
    EXPECT_TRUE(r.replaced.empty());

    const auto hosts = trust::Store(t.store).read();
    const auto* h = trust::find(hosts, "plc7");
    ASSERT_NE(h, nullptr);
    EXPECT_EQ(h->address, "192.0.2.7:3389");
    EXPECT_EQ(h->identity.tls_cert_sha256, std::string(64, 'a'));
    EXPECT_EQ(h->identity.tls_spki_sha256, std::string(64, 'b'));
    EXPECT_EQ(h->identity.rdp_key_sha256, std::string(64, 'c'));
    EXPECT_EQ(h->identity.layers, (rdp::SecurityLayers{true, false, true}));
    EXPECT_TRUE(h->trusted());
    EXPECT_EQ(r.identity.rdp_key_sha256, h->identity.rdp_key_sha256);

    // A second probe of a renewed certificate says what it replaced.
    const auto again = record_trust(t, tls_and_rdp_host('d'));
    EXPECT_EQ(again.replaced, std::vector<std::string>{"tls_cert_sha256"});
    EXPECT_EQ(again.identity.tls_cert_sha256, std::string(64, 'd'));
}

// The session names a backend's address by its host part as parsed (no brackets) and its port.
TEST_F(ProbeTrust, Ipv6AddressIsNamedAsTheSessionNamesIt) {
    const auto t = prepared({"2001:db8::7", 3390, ""}, "", dir_.string());
    EXPECT_EQ(t.address, "2001:db8::7:3390");
}

TEST_F(ProbeTrust, StoreFromTheConfigsStateDir) {
    const auto file = config("plc7", "192.0.2.7:3389");
    const auto t = prepared({"192.0.2.7", 3389, ""}, file, "");
    EXPECT_EQ(t.store, trust::Store::in(dir_));
    EXPECT_TRUE(t.notes.empty());
}

TEST_F(ProbeTrust, BackendAtAnotherAddressIsRefusedBeforeProbing) {
    const auto file = config("plc7", "plc7.plant.example:3389");
    const auto errors = errors_of(prepare_trust("plc7", {"192.0.2.7", 3389, ""}, file, ""));
    EXPECT_NE(errors.find(file + ": backend \"plc7\" has address \"plc7.plant.example:3389\""),
              std::string::npos)
        << errors;
}

TEST_F(ProbeTrust, NotesWhatTheGatewayWillNotUse) {
    const auto absent = prepared({"192.0.2.7", 3389, ""}, config("other", "192.0.2.9"), "");
    ASSERT_EQ(absent.notes.size(), 1u);
    EXPECT_NE(absent.notes[0].find("no [[backend]] named \"plc7\""), std::string::npos);

    const auto pinned =
        prepared({"192.0.2.7", 3389, ""},
                 config("plc7", "192.0.2.7", "\n[backend.tls]\nverify = \"off\"\n"), "");
    ASSERT_EQ(pinned.notes.size(), 1u);
    EXPECT_NE(pinned.notes[0].find("verify = \"off\""), std::string::npos) << pinned.notes[0];
}

TEST_F(ProbeTrust, AConfigWithoutChannelPolicyGivesTheReportNone) {
    const auto t = prepared({"192.0.2.7", 3389, ""}, config("plc7", "192.0.2.7:3389"), "");
    EXPECT_FALSE(t.channel_policy);
}

// The backend's [backend.channels], and every [[route]] to it with its own [route.channels]: a
// session gets one or the other (config::effective_channel_policy), so the report names both.
TEST(ProbeChannelPolicy, IsTheBackendsAndThatOfEachRouteToIt) {
    config::Config cfg;
    config::Backend plc7;
    plc7.name = "plc7";
    cfg.backends = {plc7};
    config::Route ops{"", "ops*", "plc7", std::nullopt};
    cfg.routes = {ops};
    EXPECT_FALSE(configured_channel_policy(cfg, cfg.backends[0]));  // nobody has one

    config::ChannelPolicy deny;
    deny.channels.deny = {"cliprdr"};
    deny.devices.deny = {"drive"};
    cfg.backends[0].channels = deny;
    auto p = configured_channel_policy(cfg, cfg.backends[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->backend, "plc7");
    EXPECT_EQ(p->policy, "channels all but cliprdr, rdpdr devices all but drive");
    EXPECT_TRUE(p->routes.empty());

    config::ChannelPolicy only_rdpdr;
    only_rdpdr.channels.allow = std::vector<std::string>{"rdpdr"};
    cfg.routes[0].channels = only_rdpdr;
    cfg.routes.push_back({"front", "admin", "plc7", config::ChannelPolicy{}});
    cfg.routes.push_back({"", "x*", "other", only_rdpdr});  // another backend's
    p = configured_channel_policy(cfg, cfg.backends[0]);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->routes,
              (std::vector<std::string>{"mstshash=ops*: channels only rdpdr",
                                        "mstshash=admin on listener front: channels all"}));
    cfg.backends[0].channels.reset();
    EXPECT_EQ(configured_channel_policy(cfg, cfg.backends[0])->policy, "");
}

TEST_F(ProbeTrust, InvalidConfigNamesItsFile) {
    const auto file = (dir_ / "bad.toml").string();
    std::ofstream(file) << "state_dir = 7\n";
    const auto errors = errors_of(prepare_trust("plc7", {"192.0.2.7", 3389, ""}, file, ""));
    EXPECT_NE(errors.find(file), std::string::npos) << errors;
}

TEST_F(ProbeTrust, CorruptStoreNamesItsFileAndLine) {
    std::ofstream(trust::Store::in(dir_)) << "{not json\n";
    const auto errors =
        errors_of(prepare_trust("plc7", {"192.0.2.7", 3389, ""}, "", dir_.string()));
    EXPECT_NE(errors.find(trust::Store::in(dir_).string() + ":1:"), std::string::npos) << errors;
}

TEST_F(ProbeTrust, NothingSeenIsNotRecorded) {
    const auto t = prepared({"192.0.2.7", 3389, ""}, "", dir_.string());
    Findings f;
    EXPECT_THROW(record_trust(t, f), std::invalid_argument);
    EXPECT_TRUE(trust::Store(t.store).read().empty());
}

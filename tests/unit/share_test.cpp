// Sharing identities between gateways: which keys contradict, what an export holds, and how an
// import merges, refuses a conflict, or (--replace) overrides it.
#include "proxy/trust/share.hpp"

#include <gtest/gtest.h>

using namespace rdpbridge;
using namespace rdpbridge::proxy::trust;

namespace {

std::string fp(char c) {
    return std::string(64, c);
}

KnownHost host(const std::string& backend, char cert, char spki, char rdp_key = 0) {
    KnownHost h;
    h.backend = backend;
    h.address = "192.0.2.7:3389";
    h.identity.tls_cert_sha256 = cert ? fp(cert) : "";
    h.identity.tls_spki_sha256 = spki ? fp(spki) : "";
    h.identity.rdp_key_sha256 = rdp_key ? fp(rdp_key) : "";
    h.identity.layers = {cert != 0, false, rdp_key != 0};
    h.first_seen = "2026-12-01T10:00:00Z";
    h.last_seen = "2026-12-04T10:00:00Z";
    return h;
}

TEST(Share, SameKeysComparesOnlyWhatBothKnow) {
    EXPECT_TRUE(same_keys(host("a", '1', '2').identity, host("a", '1', '2').identity));
    // A renewed certificate: the key (SPKI) decides.
    EXPECT_TRUE(same_keys(host("a", '1', '2').identity, host("a", '9', '2').identity));
    EXPECT_FALSE(same_keys(host("a", '1', '2').identity, host("a", '1', '3').identity));
    // Without SPKI on one side, the certificate decides.
    EXPECT_FALSE(same_keys(host("a", '1', 0).identity, host("a", '9', '2').identity));
    // One gateway met the host over TLS, the other over Standard RDP Security.
    EXPECT_TRUE(same_keys(host("a", '1', '2').identity, host("a", 0, 0, '7').identity));
    EXPECT_FALSE(same_keys(host("a", 0, 0, '7').identity, host("a", 0, 0, '8').identity));
}

TEST(Share, ExportHoldsTrustedEntriesWithoutPendingAttempts) {
    auto trusted = host("a", '1', '2');
    trusted.pending = PendingIdentity{host("a", '3', '4').identity, "2026-12-04T11:00:00Z",
                                      "host_identity_changed"};
    KnownHost refused_first_use;
    refused_first_use.backend = "b";
    refused_first_use.address = "192.0.2.8:3389";
    refused_first_use.pending = trusted.pending;
    const auto out = exportable({trusted, refused_first_use});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].backend, "a");
    EXPECT_FALSE(out[0].pending);
}

TEST(Share, ImportAddsAndMerges) {
    std::vector<KnownHost> local{host("a", '1', '2')};
    auto a = host("a", '1', '2', '7');  // the other gateway also saw the RDP key
    a.first_seen = "2026-11-01T10:00:00Z";
    const auto report = merge(local, {a, host("b", '5', '6')}, false);
    EXPECT_EQ(report.added, std::vector<std::string>{"b"});
    EXPECT_EQ(report.merged, std::vector<std::string>{"a"});
    EXPECT_TRUE(report.conflicts.empty());
    ASSERT_EQ(local.size(), 2u);
    EXPECT_EQ(local[0].identity.rdp_key_sha256, fp('7'));
    EXPECT_TRUE(local[0].identity.layers.rdp);
    EXPECT_EQ(local[0].first_seen, "2026-11-01T10:00:00Z");
}

TEST(Share, ImportTakesTheNewerCertificateOfTheSameKey) {
    std::vector<KnownHost> local{host("a", '1', '2')};
    auto renewed = host("a", '9', '2');
    renewed.last_seen = "2026-12-05T10:00:00Z";
    merge(local, {renewed}, false);
    EXPECT_EQ(local[0].identity.tls_cert_sha256, fp('9'));
    auto older = host("a", '8', '2');
    older.last_seen = "2026-01-01T10:00:00Z";
    merge(local, {older}, false);
    EXPECT_EQ(local[0].identity.tls_cert_sha256, fp('9'));
}

TEST(Share, AConflictNamesBothKeysAndChangesNothingWithoutReplace) {
    std::vector<KnownHost> local{host("a", '1', '2')};
    const auto report = merge(local, {host("a", '3', '4')}, false);
    ASSERT_EQ(report.conflicts.size(), 1u);
    EXPECT_NE(report.conflicts[0].find(fp('4')), std::string::npos) << report.conflicts[0];
    EXPECT_NE(report.conflicts[0].find(fp('2')), std::string::npos) << report.conflicts[0];
    EXPECT_EQ(local[0].identity.tls_spki_sha256, fp('2'));

    auto moved = host("a", '1', '2');
    moved.address = "192.0.2.99:3389";
    EXPECT_EQ(merge(local, {moved}, false).conflicts.size(), 1u);
    EXPECT_EQ(local[0].address, "192.0.2.7:3389");
}

TEST(Share, ReplaceMakesTheFilesKeyWin) {
    std::vector<KnownHost> local{host("a", '1', '2')};
    local[0].pending = PendingIdentity{host("a", '3', '4').identity, "t", "host_identity_changed"};
    const auto report = merge(local, {host("a", '3', '4')}, true);
    EXPECT_EQ(report.replaced, std::vector<std::string>{"a"});
    EXPECT_EQ(local[0].identity.tls_spki_sha256, fp('4'));
    EXPECT_FALSE(local[0].pending);
}

TEST(Share, AnImportedKeySettlesARefusalOfThatKey) {
    // This gateway refused the host at first use (tofu_first_use = "refuse"); another gateway's
    // operator accepted that very key: importing it trusts it here too.
    KnownHost refused;
    refused.backend = "a";
    refused.address = "192.0.2.7:3389";
    refused.pending = PendingIdentity{host("a", '1', '2').identity, "t", "host_identity_unknown"};
    std::vector<KnownHost> local{refused};
    const auto report =
        merge(local, {host("a", '1', '2'), KnownHost{"c", "x:1", {}, "", "", {}}}, false);
    EXPECT_EQ(report.added, std::vector<std::string>{"a"});
    EXPECT_EQ(report.skipped, 1u);
    EXPECT_TRUE(local[0].trusted());
    EXPECT_FALSE(local[0].pending);
}

}  // namespace

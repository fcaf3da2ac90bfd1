// The known-hosts store on a real file system: format, errors that name file and line, the lock
// between writers, and atomic replacement.
#include "proxy/trust/known_hosts.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "proxy/trust/host_trust.hpp"
#include "temp_dir.hpp"

using namespace rdpbridge;
using namespace rdpbridge::proxy::trust;

namespace {

class KnownHostsTest : public ::testing::Test {
  protected:
    rdpbridge::test_support::TempDir temp_{"known_hosts_test"};
    const std::filesystem::path dir_ = temp_.path();
    const std::filesystem::path file_ = Store::in(dir_);

    std::string contents() const {
        std::ifstream in(file_);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    void write(const std::string& text) const { std::ofstream(file_) << text; }
};

KnownHost sample(const std::string& name) {
    KnownHost h;
    h.backend = name;
    h.address = "192.0.2.7:3389";
    h.identity = rdp::HostIdentity{std::string(64, 'a'), std::string(64, 'b'), "",
                                   rdp::SecurityLayers{true, true, false}};
    h.first_seen = "2026-12-01T10:00:00Z";
    h.last_seen = "2026-12-04T10:00:00Z";
    return h;
}

}  // namespace

TEST_F(KnownHostsTest, RoundTripKeepsEveryField) {
    auto h = sample("win7");
    h.pending = PendingIdentity{
        rdp::HostIdentity{"", "", std::string(64, 'c'), rdp::SecurityLayers{false, false, true}},
        "2026-12-04T11:00:00Z", "host_security_downgrade"};
    Store store(file_);
    store.update([&](auto& hosts) { hosts = {h, sample("xp")}; });
    const auto back = store.read();
    ASSERT_EQ(back.size(), 2u);
    EXPECT_EQ(back[0].backend, "win7");
    EXPECT_EQ(back[0].identity.tls_cert_sha256, h.identity.tls_cert_sha256);
    EXPECT_EQ(back[0].identity.tls_spki_sha256, h.identity.tls_spki_sha256);
    EXPECT_EQ(back[0].identity.layers, h.identity.layers);
    EXPECT_EQ(back[0].first_seen, h.first_seen);
    ASSERT_TRUE(back[0].pending);
    EXPECT_EQ(back[0].pending->identity.rdp_key_sha256, std::string(64, 'c'));
    EXPECT_EQ(back[0].pending->cause, "host_security_downgrade");
    EXPECT_EQ(serialize(back), serialize({h, sample("xp")}));
    // One readable line per host.
    EXPECT_NE(contents().find("\"backend\":\"win7\",\"address\":\"192.0.2.7:3389\""),
              std::string::npos);
}

TEST_F(KnownHostsTest, FileIsPrivate) {
    Store(file_).update([&](auto& hosts) { hosts = {sample("win7")}; });
    struct stat st {};
    ASSERT_EQ(::stat(file_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KnownHostsTest, MissingFileIsAnEmptyStore) {
    EXPECT_TRUE(Store(file_).read().empty());
}

TEST_F(KnownHostsTest, CorruptLineIsNamedWithFileAndLine) {
    write(serialize({sample("a")}) + "{\"backend\": \"b\", \"address\": \n");
    try {
        Store(file_).read();
        FAIL() << "corrupt store was read";
    } catch (const StoreError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(file_.string() + ":2:"), std::string::npos) << what;
        EXPECT_NE(what.find("not valid JSON"), std::string::npos) << what;
    }
}

TEST_F(KnownHostsTest, BadFieldsAreNamed) {
    const std::pair<std::string, std::string> cases[] = {
        {R"({"address":"h:1"})", "missing \"backend\""},
        {R"({"backend":"a","address":"h:1","tls_cert_sha256":"XYZ"})", "tls_cert_sha256"},
        {R"({"backend":"a","address":"h:1","layers":["SSL"]})", "layers"},
        {R"([1,2])", "JSON object"},
        {R"({"backend":"a","address":"h:1"})"
         "\n"
         R"({"backend":"a","address":"h:2"})",
         "appears twice"},
    };
    for (const auto& [text, expected] : cases) {
        try {
            parse(text, "store");
            ADD_FAILURE() << text;
        } catch (const StoreError& e) {
            EXPECT_NE(std::string(e.what()).find(expected), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).rfind("store:", 0), 0u) << e.what();
        }
    }
}

TEST_F(KnownHostsTest, TwoWritersNeverLoseEachOthersEntries) {
    constexpr int kPerWriter = 40;
    auto writer = [this](const std::string& prefix) {
        Store store(file_);
        for (int i = 0; i < kPerWriter; ++i)
            store.update([&](auto& hosts) { hosts.push_back(sample(prefix + std::to_string(i))); });
    };
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        try {
            writer("child-");
        } catch (...) {
            _exit(1);
        }
        _exit(0);
    }
    writer("parent-");
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_EQ(Store(file_).read().size(), 2u * kPerWriter);
}

TEST_F(KnownHostsTest, CrashBetweenWriteAndRenameLeavesTheOldStore) {
    Store(file_).update([&](auto& hosts) { hosts = {sample("old")}; });
    const std::string before = contents();
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        Store store(file_);
        store.before_rename = [] { _exit(7); };  // dies with the new store written, not renamed
        store.update([&](auto& hosts) { hosts = {sample("new")}; });
        _exit(0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_EQ(WEXITSTATUS(status), 7);
    EXPECT_EQ(contents(), before);
    ASSERT_EQ(Store(file_).read().at(0).backend, "old");
    // The next writer is not put off by the temporary file the crash left behind.
    ::chmod((file_.string() + ".tmp").c_str(), 0666);
    Store(file_).update([&](auto& hosts) { hosts.push_back(sample("next")); });
    EXPECT_EQ(Store(file_).read().size(), 2u);
    struct stat st {};
    ASSERT_EQ(::stat(file_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(KnownHostsTest, GatewayViewSeesChangesMadeByOthers) {
    HostTrust trust(file_);
    EXPECT_FALSE(trust.lookup("win7", "192.0.2.7:3389"));
    Store(file_).update([&](auto& hosts) { hosts = {sample("win7")}; });
    auto found = trust.lookup("win7", "192.0.2.7:3389");
    ASSERT_TRUE(found);
    EXPECT_TRUE(found->identity.layers.nla);
    // Moved to another address: a new host.
    EXPECT_FALSE(trust.lookup("win7", "192.0.2.8:3389"));
    Store(file_).update([&](auto& hosts) { hosts.clear(); });
    EXPECT_FALSE(trust.lookup("win7", "192.0.2.7:3389"));
}

TEST_F(KnownHostsTest, LearnSeenAndRefuse) {
    HostTrust trust(file_);
    rdp::HostIdentity tls{std::string(64, '1'), std::string(64, '2'), "",
                          rdp::SecurityLayers{true, false, false}};
    EXPECT_FALSE(trust.learn("win7", "h:3389", tls, nullptr));
    auto h = trust.lookup("win7", "h:3389");
    ASSERT_TRUE(h);
    EXPECT_EQ(h->identity.tls_cert_sha256, tls.tls_cert_sha256);
    EXPECT_FALSE(h->first_seen.empty());
    // Gaining NLA is remembered, so that losing it later is a downgrade.
    trust.seen("win7", "h:3389", rdp::SecurityLayers{true, true, false});
    EXPECT_TRUE(trust.lookup("win7", "h:3389")->identity.layers.nla);
    // A refusal keeps the trusted identity and records the attempt beside it.
    rdp::HostIdentity impostor{std::string(64, '3'), std::string(64, '4'), "",
                               rdp::SecurityLayers{true, false, false}};
    trust.refuse("win7", "h:3389", impostor, "host_identity_changed");
    h = trust.lookup("win7", "h:3389");
    EXPECT_EQ(h->identity.tls_cert_sha256, tls.tls_cert_sha256);
    ASSERT_TRUE(h->pending);
    EXPECT_EQ(h->pending->identity.tls_cert_sha256, impostor.tls_cert_sha256);
    EXPECT_EQ(h->pending->cause, "host_identity_changed");
    // First use refused: an entry with only the pending identity, trusting nothing.
    trust.refuse("xp", "x:3389", impostor, "host_identity_unknown");
    const auto xp = trust.lookup("xp", "x:3389");
    ASSERT_TRUE(xp);
    EXPECT_FALSE(xp->trusted());
    EXPECT_TRUE(xp->pending);
}

// Two gateways share one store. The second met the host before the first recorded it, so it
// decided "first use" from an empty store; when it comes to record, the store holds the first
// gateway's pin, and a contradicting key must not replace it.
TEST_F(KnownHostsTest, LearnNeverOverwritesAnotherGatewaysPin) {
    HostTrust first(file_);
    HostTrust second(file_);
    const rdp::HostIdentity real{std::string(64, '1'), std::string(64, '2'), "",
                                 rdp::SecurityLayers{true, false, false}};
    const rdp::HostIdentity impostor{std::string(64, '3'), std::string(64, '4'), "",
                                     rdp::SecurityLayers{true, false, false}};
    EXPECT_FALSE(second.lookup("win7", "h:3389"));
    EXPECT_FALSE(first.learn("win7", "h:3389", real, nullptr));

    const auto pinned = second.learn("win7", "h:3389", impostor, nullptr);
    ASSERT_TRUE(pinned);
    EXPECT_EQ(pinned->identity.tls_spki_sha256, real.tls_spki_sha256);
    EXPECT_EQ(first.lookup("win7", "h:3389")->identity.tls_cert_sha256, real.tls_cert_sha256);

    // The same key learnt by both at once is no conflict.
    EXPECT_FALSE(second.learn("win7", "h:3389", real, nullptr));
    // A renewed certificate (same key) decided from the pinned entry is recorded.
    rdp::HostIdentity renewed = real;
    renewed.tls_cert_sha256 = std::string(64, '5');
    const auto seen = second.lookup("win7", "h:3389");
    EXPECT_FALSE(second.learn("win7", "h:3389", renewed, &seen->identity));
    EXPECT_EQ(first.lookup("win7", "h:3389")->identity.tls_cert_sha256, renewed.tls_cert_sha256);
    // A decision made from an entry that is no longer on disk is made again.
    EXPECT_TRUE(first.learn("win7", "h:3389", impostor, &real));
    EXPECT_EQ(second.lookup("win7", "h:3389")->identity.tls_cert_sha256, renewed.tls_cert_sha256);
}

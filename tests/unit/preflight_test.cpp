// What check-config used to call OK and run then refused: each is now an error that names the
// key, the file:line and the fix.
#include "proxy/preflight.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

using namespace rdpbridge;

namespace {

class Preflight : public ::testing::Test {
  protected:
    rdpbridge::test_support::TempDir temp_{"preflight_test"};
    const std::filesystem::path dir_ = temp_.path();

    config::Config load(const std::string& body) {
        const std::string text = "state_dir = \"" + dir_.string() + "/state\"\n" + body;
        auto loaded = config::parse(text, "t.toml");
        auto* c = std::get_if<config::Config>(&loaded);
        if (c == nullptr) {
            ADD_FAILURE() << std::get<std::vector<config::LoadError>>(loaded)[0].to_string();
            return {};
        }
        return *c;
    }
    const config::LoadError* error_for(const proxy::PreflightReport& r, const std::string& key) {
        for (const auto& e : r.errors)
            if (e.key == key) return &e;
        ADD_FAILURE() << "no error for " << key;
        return nullptr;
    }
};

constexpr const char* kBackend = R"(
[[backend]]
name = "b"
address = "192.0.2.7"
)";

}  // namespace

TEST_F(Preflight, ValidConfigPassesAndSaysWhatWasChecked) {
    const auto r = proxy::preflight(
        load("[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = \"b\"\n" +
             std::string(kBackend)),
        "");
    EXPECT_TRUE(r.errors.empty()) << r.errors[0].to_string();
    EXPECT_GE(r.checked.size(), 4u);
}

TEST_F(Preflight, MissingFrontCertificate) {
    const auto r = proxy::preflight(
        load("[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = "
             "\"b\"\n[listener.tls]\ncertificate = \"" +
             dir_.string() + "/none.pem\"\nprivate_key = \"" + dir_.string() + "/none.key\"\n" +
             kBackend),
        "");
    const auto* e = error_for(r, "listener[0].tls.certificate");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->file, "t.toml");
    EXPECT_EQ(e->line, 7);
    EXPECT_NE(e->message.find("none.pem"), std::string::npos) << e->message;
}

TEST_F(Preflight, CipherStringOpenSslRefusesNamesBackendAndLine) {
    const auto r = proxy::preflight(
        load("[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = \"b\"\n" +
             std::string(kBackend) + "[backend.tls]\nciphers = \"FOO-BAR\"\n"),
        "");
    const auto* e = error_for(r, "backend[0].tls.ciphers");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->line, 11);
    EXPECT_NE(e->message.find("backend b"), std::string::npos) << e->message;
    EXPECT_NE(e->message.find("FOO-BAR"), std::string::npos) << e->message;
}

TEST_F(Preflight, ListenersOnTheSameAddressCollide) {
    const auto r = proxy::preflight(
        load("[[listener]]\nname = \"a\"\nbind = \"0.0.0.0:3390\"\ndefault_backend = \"b\"\n"
             "[[listener]]\nname = \"c\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = \"b\"\n"
             "[[listener]]\nname = \"d\"\nbind = \"127.0.0.1:3391\"\ndefault_backend = \"b\"\n" +
             std::string(kBackend)),
        "");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].key, "listener[1].bind");
    EXPECT_NE(r.errors[0].message.find("listener a"), std::string::npos);
}

TEST_F(Preflight, SecretFilesMustBePrivateAndReadableByTheServiceUser) {
    const auto users = dir_ / "users";
    std::ofstream(users) << "D:u:p\n";
    ::chmod(users.c_str(), 0644);
    const auto text =
        "[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = "
        "\"b\"\nnla = \"offer\"\nnla_users = \"" +
        users.string() + "\"\n" + kBackend;
    auto r = proxy::preflight(load(text), "");
    const auto* e = error_for(r, "listener[0].nla_users");
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("chmod 600"), std::string::npos) << e->message;
    ::chmod(users.c_str(), 0600);
    EXPECT_TRUE(proxy::preflight(load(text), "").errors.empty());
    // Private to root, so `nobody` (the service's account here) cannot read it.
    if (::geteuid() == 0) {
        r = proxy::preflight(load(text), "nobody");
        e = error_for(r, "listener[0].nla_users");
        ASSERT_TRUE(e);
        EXPECT_NE(e->message.find("not readable by user nobody"), std::string::npos) << e->message;
    }
}

TEST_F(Preflight, AdminCredentialFilesAreSecretFiles) {
    const auto token = dir_ / "admin-token";
    std::ofstream(token) << "0123abcd\n";
    ::chmod(token.c_str(), 0644);
    const auto text =
        "[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = "
        "\"b\"\n[admin]\nbind = \"0.0.0.0:9100\"\ntoken_file = \"" +
        token.string() + "\"\n" + kBackend;
    auto r = proxy::preflight(load(text), "");
    const auto* e = error_for(r, "admin.token_file");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->line, 8);
    EXPECT_NE(e->message.find("has mode 0644"), std::string::npos) << e->message;
    EXPECT_NE(e->message.find("chmod 600 " + token.string()), std::string::npos) << e->message;
    ::chmod(token.c_str(), 0600);
    EXPECT_TRUE(proxy::preflight(load(text), "").errors.empty());

    const auto users = dir_ / "admin-users";
    r = proxy::preflight(load("[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\n"
                              "default_backend = \"b\"\n[admin]\nbind = \"[::]:9100\"\n"
                              "basic_auth_file = \"" +
                              users.string() + "\"\n" + kBackend),
                         "");
    e = error_for(r, "admin.basic_auth_file");
    ASSERT_TRUE(e);
    EXPECT_NE(e->message.find("user:password"), std::string::npos) << e->message;
}

TEST_F(Preflight, UnknownServiceUserIsAnError) {
    const auto r = proxy::preflight(
        load("[[listener]]\nname = \"l\"\nbind = \"127.0.0.1:3390\"\ndefault_backend = \"b\"\n" +
             std::string(kBackend)),
        "no-such-user-here");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].key, "--as-user");
}

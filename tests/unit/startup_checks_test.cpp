// The start-up checks (proxy/startup_checks.hpp): files holding secrets, the service password,
// and the legacy provider, each failing with the fix in its message.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "proxy/startup_checks.hpp"
#include "rdp/crypto.hpp"
#include "rdp/server_security.hpp"
#include "rdp/standard_security.hpp"
#include "temp_dir.hpp"

using namespace rdpbridge;
using proxy::legacy_crypto_problem;
using proxy::legacy_crypto_users;
using proxy::private_file_problem;
using proxy::read_service_password;
using proxy::service_password_problem;

namespace {

::testing::AssertionResult Contains(const std::string& haystack, const std::string& needle) {
    if (haystack.find(needle) != std::string::npos) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "\"" << haystack << "\" lacks \"" << needle << "\"";
}

class Files : public ::testing::Test {
  protected:
    rdpbridge::test_support::TempDir temp_{"startup"};
    const std::filesystem::path dir_ = temp_.path();
    std::filesystem::path write(const std::string& name, const std::string& content,
                                mode_t mode = 0600) {
        const auto path = dir_ / name;
        std::ofstream(path, std::ios::binary) << content;
        ::chmod(path.c_str(), mode);
        return path;
    }
    config::ServiceCredentials account(const std::filesystem::path& file) {
        return {"kiosk", "PLANT", file};
    }
    // The password read from a file holding `content`, or the error.
    std::variant<rdp::Secret, std::string> read(const std::string& content) {
        return read_service_password("backend b: credentials.password_file",
                                     account(write("password", content)));
    }
    std::string error_of(const std::string& content) {
        auto r = read(content);
        if (auto* e = std::get_if<std::string>(&r)) return *e;
        ADD_FAILURE() << "no error for a file of " << content.size() << " bytes";
        return {};
    }
    std::string password_of(const std::string& content) {
        auto r = read(content);
        if (auto* e = std::get_if<std::string>(&r)) {
            ADD_FAILURE() << *e;
            return {};
        }
        const auto view = std::get<rdp::Secret>(r).view();
        return std::string(view.begin(), view.end());
    }
};

TEST_F(Files, PrivateFileThatIsFine) {
    EXPECT_EQ(private_file_problem("nla_users", write("users", "D:u:p\n"), "with lines"),
              std::nullopt);
}

TEST_F(Files, PrivateFileMissingSaysCreateIt) {
    const auto p = private_file_problem("listener main: nla_users", dir_ / "none", "with lines");
    ASSERT_TRUE(p);
    EXPECT_TRUE(Contains(*p, "listener main: nla_users " + (dir_ / "none").string()));
    EXPECT_TRUE(Contains(*p, "No such file or directory; create it with lines and chmod 600 it"));
}

TEST_F(Files, PrivateFileReadableByOthersIsRefused) {
    const auto p = private_file_problem("nla_users", write("users", "x", 0640), "with lines");
    ASSERT_TRUE(p);
    EXPECT_TRUE(Contains(*p, "has mode 0640"));
    EXPECT_TRUE(Contains(*p, "chmod 600 " + (dir_ / "users").string()));
}

TEST_F(Files, PrivateFileThatIsADirectoryIsRefused) {
    std::filesystem::create_directory(dir_ / "d");
    ::chmod((dir_ / "d").c_str(), 0700);
    const auto p = private_file_problem("nla_users", dir_ / "d", "with lines");
    ASSERT_TRUE(p);
    EXPECT_TRUE(Contains(*p, "is not a regular file (a directory)"));
}

// Mode 0600 is not enough: the file must open for the user the gateway runs as. As root the
// check runs in a child that has become nobody (root reads any file).
TEST_F(Files, PrivateFileTheGatewayCannotOpenIsRefused) {
    const auto file = write("users", "D:u:p\n", geteuid() == 0 ? 0600 : 0000);
    ::chmod(dir_.c_str(), 0755);  // reachable, so that open() and not stat() is what fails
    const auto check = [&] {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) std::_Exit(2);
        const auto p = private_file_problem("nla_users", file, "with lines");
        std::fprintf(stderr, "%s\n", p ? p->c_str() : "no problem");
        std::_Exit(p ? 0 : 1);
    };
    EXPECT_EXIT(check(), ::testing::ExitedWithCode(0),
                "nla_users .*/users cannot be read by the gateway: Permission denied; make it "
                "readable by the user the gateway runs as");
}

TEST_F(Files, ServicePasswordIsTheFirstLine) {
    EXPECT_EQ(password_of("s3cret\n"), "s3cret");
    EXPECT_EQ(password_of("s3cret\r\nsecond line\n"), "s3cret");
    EXPECT_EQ(password_of("no newline"), "no newline");
    EXPECT_EQ(password_of("Grüße-東京\n"), "Grüße-東京");
}

TEST_F(Files, ServicePasswordEmptyIsAnError) {
    EXPECT_TRUE(Contains(error_of(""), "the password (its first line) is empty"));
    EXPECT_TRUE(Contains(error_of("\nsecond"), "is empty"));
}

// It used to read as an empty password (ifstream on a directory), or fail only at the first
// client.
TEST_F(Files, ServicePasswordFileUnreadableNamesFileAndFix) {
    std::filesystem::create_directory(dir_ / "password");
    ::chmod((dir_ / "password").c_str(), 0700);
    auto r =
        read_service_password("backend b: credentials.password_file", account(dir_ / "password"));
    ASSERT_TRUE(std::holds_alternative<std::string>(r));
    const auto& e = std::get<std::string>(r);
    EXPECT_TRUE(
        Contains(e, "backend b: credentials.password_file " + (dir_ / "password").string()));
    EXPECT_TRUE(Contains(e,
                         "not a regular file (a directory); point it at a file with the "
                         "service account's password on one line"));
}

TEST_F(Files, ServicePasswordNotUtf8IsAnError) {
    const auto e = error_of("caf\xe9-latin1\n");
    EXPECT_TRUE(Contains(e, "the password is not valid UTF-8 (invalid UTF-8 at byte 3)"));
    EXPECT_TRUE(Contains(e, "save the file as UTF-8"));
    EXPECT_FALSE(Contains(e, "latin1")) << "the message quotes the password";
}

TEST_F(Files, ServicePasswordWithNulIsAnError) {
    EXPECT_TRUE(Contains(error_of(std::string("ab\0cd\n", 6)), "holds a NUL byte (at byte 2)"));
}

TEST_F(Files, ServicePasswordLengthIsRdpsLimitInUtf16Units) {
    EXPECT_EQ(password_of(std::string(255, 'p')).size(), 255u);
    const auto e = error_of(std::string(256, 'p') + "\n");
    EXPECT_TRUE(Contains(e,
                         "the password is 256 UTF-16 characters long, more than RDP allows: "
                         "at most 255 (the Client Info's password field holds 512 bytes of "
                         "UTF-16 including its terminator, [MS-RDPBCGR] 2.2.1.11.1.1)"));
    EXPECT_FALSE(Contains(e, "ppp")) << "the message quotes the password";
    // Characters outside the BMP take two UTF-16 units each: 127 of them and one more is 255.
    std::string emoji;
    for (int i = 0; i < 127; ++i) emoji += "\xf0\x9f\x98\x80";  // U+1F600
    EXPECT_EQ(password_of(emoji + "x").size(), 127u * 4 + 1);
    EXPECT_TRUE(Contains(error_of(emoji + "xy"), "is 256 UTF-16 characters long"));
}

TEST_F(Files, ServicePasswordFarTooLongIsNotCutSilently) {
    const auto e = error_of(std::string(5000, 'p'));
    EXPECT_TRUE(Contains(e, "the password is more than 4096 bytes long, more than RDP allows"));
}

TEST(ServicePassword, CredentialsTooLargeForCredSsp) {
    const config::ServiceCredentials huge{std::string(40000, 'u'), "PLANT", "/unused"};
    const std::string pw = "s3cret";
    const auto p = service_password_problem(
        huge, rdp::ByteView(reinterpret_cast<const uint8_t*>(pw.data()), pw.size()));
    ASSERT_TRUE(p);
    EXPECT_TRUE(Contains(*p, "CredSSP cannot carry these credentials"));
    EXPECT_TRUE(Contains(*p, "one TSRequest holds at most 65536"));
    EXPECT_FALSE(Contains(*p, pw));
}

config::Config config_with(config::BackendSecurity security, bool credentials,
                           config::NlaMode nla) {
    config::Config c;
    config::Backend b;
    b.name = "win7";
    b.security = security;
    if (credentials) b.credentials = config::ServiceCredentials{"kiosk", "", "/unused"};
    c.backends.push_back(b);
    config::Listener l;
    l.name = "main";
    l.nla = nla;
    c.listeners.push_back(l);
    return c;
}

TEST(LegacyCrypto, WhoNeedsIt) {
    using S = config::BackendSecurity;
    using N = config::NlaMode;
    EXPECT_TRUE(legacy_crypto_users(config_with(S::tls, false, N::off)).empty());
    EXPECT_EQ(legacy_crypto_users(config_with(S::automatic, false, N::off)),
              std::vector<std::string>{
                  "backend win7 (security = \"auto\": Standard RDP Security's RC4 and MD5)"});
    EXPECT_EQ(legacy_crypto_users(config_with(S::rdp, false, N::off)),
              std::vector<std::string>{
                  "backend win7 (security = \"rdp\": Standard RDP Security's RC4 and MD5)"});
    EXPECT_EQ(legacy_crypto_users(config_with(S::tls, true, N::off)),
              std::vector<std::string>{"backend win7 (credentials: CredSSP towards the host)"});
    EXPECT_EQ(legacy_crypto_users(config_with(S::tls, false, N::offer)),
              std::vector<std::string>{"listener main (nla = \"offer\": CredSSP, NTLM)"});
}

TEST(LegacyCrypto, ProblemOnlyWhenNeededAndMissing) {
    using S = config::BackendSecurity;
    using N = config::NlaMode;
    int probed = 0;
    const auto missing = [&]() -> std::optional<std::string> {
        ++probed;
        return "no legacy.so";
    };
    EXPECT_EQ(legacy_crypto_problem(config_with(S::tls, false, N::off), missing), std::nullopt);
    EXPECT_EQ(probed, 0);  // nobody needs it: it is not even loaded
    const auto p = legacy_crypto_problem(config_with(S::automatic, false, N::require), missing);
    ASSERT_TRUE(p);
    EXPECT_TRUE(Contains(*p,
                         "OpenSSL's legacy provider is needed by backend win7 (security = "
                         "\"auto\": Standard RDP Security's RC4 and MD5), listener main (nla "
                         "= \"require\": CredSSP, NTLM), but: no legacy.so."));
    EXPECT_TRUE(Contains(*p, "libssl3 ships ossl-modules/legacy.so"));
    const auto present = [] { return std::optional<std::string>(); };
    EXPECT_EQ(legacy_crypto_problem(config_with(S::rdp, true, N::offer), present), std::nullopt);
}

TEST(LegacyCrypto, ProviderLoadsHere) {
    EXPECT_EQ(rdp::crypto::legacy_provider_problem(), std::nullopt);
}

// Without the module the check reports it instead of throwing. In a fresh process: the
// provider, once loaded, stays loaded.
TEST(LegacyCrypto, MissingProviderIsReportedNotThrown) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const auto check = [] {
        setenv("OPENSSL_MODULES", "/nonexistent/ossl-modules", 1);
        const auto p = rdp::crypto::legacy_provider_problem();
        std::fprintf(stderr, "%s\n", p ? p->c_str() : "loaded");
        std::_Exit(p ? 0 : 1);
    };
    EXPECT_EXIT(check(), ::testing::ExitedWithCode(0), "OpenSSL legacy provider unavailable");
}

// A session that runs anyway gets the same reason, with the fix, as the value of its first
// primitive, and the Standard RDP Security key schedule passes it on.
TEST(LegacyCrypto, MissingProviderIsEveryPrimitivesError) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    const auto check = [] {
        setenv("OPENSSL_MODULES", "/nonexistent/ossl-modules", 1);
        const auto md5 = rdp::crypto::md5({});
        rdp::crypto::Rc4 rc4;
        const auto keyed = rc4.reset(rdp::ByteView());
        const std::array<uint8_t, 32> random{};
        const auto keys = rdp::derive_session_keys(rdp::encryption_method::bits128, random, random);
        if (md5 || keyed || keys) std::_Exit(1);
        std::fprintf(stderr, "%s\n%s\n", md5.error().message().c_str(),
                     keys.error().message().c_str());
        std::_Exit(0);
    };
    EXPECT_EXIT(check(), ::testing::ExitedWithCode(0),
                "crypto.legacy_provider: OpenSSL legacy provider unavailable.*legacy.so");
}

}  // namespace

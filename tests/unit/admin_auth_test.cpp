// The admin endpoint's access control without a socket: the Authorization header as clients
// write it (RFC 7235, 6750, 7617), base64, the checks against the loaded credentials, and the
// files they come from (private, as every secret file).
#include "proxy/admin_auth.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

using namespace rdpbridge;
using proxy::AdminAuthResult;
using proxy::AdminCredentials;

namespace {

rdp::ByteView bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string text(const rdp::Secret& s) {
    return {reinterpret_cast<const char*>(s.view().data()), s.size()};
}

template <class T>
T ok(std::variant<T, std::string> v) {
    if (auto* problem = std::get_if<std::string>(&v)) {
        ADD_FAILURE() << *problem;
        return T{};
    }
    return std::get<T>(std::move(v));
}

std::string problem(std::variant<AdminCredentials, std::string> v) {
    if (auto* p = std::get_if<std::string>(&v)) return *p;
    ADD_FAILURE() << "expected a problem";
    return {};
}

bool has(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

}  // namespace

TEST(AdminAuth, OnlyHealthzAndReadyzArePublic) {
    EXPECT_TRUE(proxy::admin_path_is_public("/healthz"));
    EXPECT_TRUE(proxy::admin_path_is_public(proxy::admin_path("/readyz?verbose=1")));
    for (const char* path :
         {"/", "/metrics", "/api/sessions", "/healthz/", "/HEALTHZ", "//healthz"})
        EXPECT_FALSE(proxy::admin_path_is_public(path)) << path;
    EXPECT_EQ(proxy::admin_path("/metrics?x=1"), "/metrics");
    EXPECT_EQ(proxy::admin_path("/"), "/");
}

TEST(AdminAuth, ParsesSchemeAndCredentials) {
    auto a = proxy::parse_authorization("Bearer abc.DEF-12_~+/==");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->scheme, "bearer");
    EXPECT_EQ(a->credentials, "abc.DEF-12_~+/==");
    // Schemes are case-insensitive (RFC 7235 2.1); one or more spaces; OWS around the value.
    for (const char* header : {"bEaReR abc", "BEARER    abc", " \tBearer abc \t"}) {
        a = proxy::parse_authorization(header);
        ASSERT_TRUE(a) << header;
        EXPECT_EQ(a->scheme, "bearer") << header;
        EXPECT_EQ(a->credentials, "abc") << header;
    }
    a = proxy::parse_authorization("Basic dXNlcjpwYXNz");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->scheme, "basic");
}

TEST(AdminAuth, RefusesMalformedHeaders) {
    for (const char* header :
         {"", "   ", "Bearer", "Bearer   ", "Bearer a b", "Bearer a=b", "Bearer ===", "Bearer\tabc",
          " abc", "Bea(rer abc", "Digest realm=\"x\", nonce=\"y\"", "Bearer ab\xc3\xa9"}) {
        EXPECT_FALSE(proxy::parse_authorization(header)) << header;
    }
}

TEST(AdminAuth, DecodesStrictBase64) {
    const auto decode = [](std::string_view s) -> std::optional<std::string> {
        auto d = proxy::decode_base64(s);
        if (!d) return std::nullopt;
        return text(*d);
    };
    EXPECT_EQ(decode("dXNlcjpwYXNz"), "user:pass");
    EXPECT_EQ(decode("YWxpY2U6cGE6c3M="), "alice:pa:ss");
    EXPECT_EQ(decode("YQ=="), "a");
    EXPECT_EQ(decode("YWI="), "ab");
    EXPECT_EQ(decode(""), "");
    for (const char* bad :
         {"YQ=", "YQ", "Y===", "YR==", "YWJ=", "YQ==YQ==", "dXNl*jpw", "ab-_", "=YWI", "YW I"}) {
        EXPECT_FALSE(decode(bad)) << bad;
    }
}

TEST(AdminAuth, BearerTokenIsCheckedExactly) {
    const auto c = ok(AdminCredentials::bearer(bytes("s3cr3t-T0ken")));
    EXPECT_EQ(c.access(), config::AdminAccess::bearer_token);
    EXPECT_EQ(c.check(""), AdminAuthResult::missing);
    EXPECT_EQ(c.check("Bearer s3cr3t-T0ken"), AdminAuthResult::granted);
    EXPECT_EQ(c.check("bearer   s3cr3t-T0ken "), AdminAuthResult::granted);
    EXPECT_EQ(c.check("Bearer s3cr3t-T0ke"), AdminAuthResult::rejected);    // a prefix
    EXPECT_EQ(c.check("Bearer s3cr3t-T0kenX"), AdminAuthResult::rejected);  // longer
    EXPECT_EQ(c.check("Bearer S3CR3T-T0KEN"), AdminAuthResult::rejected);   // tokens keep case
    EXPECT_EQ(c.check("Bearer"), AdminAuthResult::malformed);
    EXPECT_EQ(c.check("Bearer s3cr3t T0ken"), AdminAuthResult::malformed);
    EXPECT_EQ(c.check("Basic czNjcjN0LVQwa2Vu"), AdminAuthResult::wrong_scheme);
    EXPECT_EQ(c.check("Token s3cr3t-T0ken"), AdminAuthResult::wrong_scheme);
    EXPECT_EQ(c.challenge(), "Bearer realm=\"rdpbridge\"");
    EXPECT_TRUE(has(c.refusal(), "Authorization: Bearer")) << c.refusal();
    EXPECT_TRUE(has(c.refusal(), "token_file")) << c.refusal();
}

TEST(AdminAuth, BasicAuthChecksUserAndPasswordTogether) {
    // The password may hold ':' (only the user may not); comments, blank lines and CRLF pass.
    const auto c = ok(AdminCredentials::basic(bytes("# who may look\nalice:pa:ss\n\nbob:pw\r\n")));
    EXPECT_EQ(c.access(), config::AdminAccess::basic_auth);
    EXPECT_EQ(c.check("Basic YWxpY2U6cGE6c3M="), AdminAuthResult::granted);  // alice:pa:ss
    EXPECT_EQ(c.check("basic Ym9iOnB3"), AdminAuthResult::granted);          // bob:pw
    EXPECT_EQ(c.check("BASIC  Ym9iOnB3"), AdminAuthResult::granted);
    EXPECT_EQ(c.check("Basic YWxpY2U6cGE="), AdminAuthResult::rejected);   // alice:pa
    EXPECT_EQ(c.check("Basic Ym9iOlBX"), AdminAuthResult::rejected);       // bob:PW
    EXPECT_EQ(c.check("Basic YWxpY2VwYXNz"), AdminAuthResult::malformed);  // alicepass: no colon
    EXPECT_EQ(c.check("Basic Ym9iOnB3="), AdminAuthResult::malformed);     // bad padding
    EXPECT_EQ(c.check("Basic Ym9i*nB3"), AdminAuthResult::malformed);
    EXPECT_EQ(c.check("Bearer Ym9iOnB3"), AdminAuthResult::wrong_scheme);
    EXPECT_EQ(c.check(" "), AdminAuthResult::missing);
    EXPECT_EQ(c.challenge(), "Basic realm=\"rdpbridge\", charset=\"UTF-8\"");
    EXPECT_TRUE(has(c.refusal(), "basic_auth_file")) << c.refusal();
}

TEST(AdminAuth, NoCredentialsGrantEverything) {
    const AdminCredentials none;
    EXPECT_EQ(none.access(), config::AdminAccess::loopback_only);
    EXPECT_EQ(none.check(""), AdminAuthResult::granted);
    EXPECT_EQ(none.check("Bearer anything"), AdminAuthResult::granted);
}

TEST(AdminAuth, BadFilesAreNamedByLineAndNeverEchoThePassword) {
    EXPECT_TRUE(has(problem(AdminCredentials::bearer(bytes(""))), "empty"));
    const auto spaced = problem(AdminCredentials::bearer(bytes("hunter2 hunter3")));
    EXPECT_TRUE(has(spaced, "openssl rand -hex 32")) << spaced;
    EXPECT_FALSE(has(spaced, "hunter")) << spaced;

    auto p = problem(AdminCredentials::basic(bytes("alice:ok\nbobhunter2\n")));
    EXPECT_TRUE(has(p, "line 2: not user:password")) << p;
    EXPECT_FALSE(has(p, "hunter2")) << p;
    p = problem(AdminCredentials::basic(bytes("alice:\n")));
    EXPECT_TRUE(has(p, "line 1: user alice has an empty password")) << p;
    p = problem(AdminCredentials::basic(bytes(":hunter2\n")));
    EXPECT_TRUE(has(p, "line 1")) << p;
    p = problem(AdminCredentials::basic(bytes("alice:hunter2\n#\nalice:hunter3\n")));
    EXPECT_TRUE(has(p, "line 3: user alice is already on line 1")) << p;
    EXPECT_FALSE(has(p, "hunter")) << p;
    p = problem(AdminCredentials::basic(bytes("alice:hun\ater2\n")));
    EXPECT_TRUE(has(p, "control character")) << p;
    EXPECT_TRUE(has(problem(AdminCredentials::basic(bytes("# nobody yet\n"))), "no user:password"));
}

class AdminFiles : public ::testing::Test {
  protected:
    rdpbridge::test_support::TempDir temp_{"admin_auth_test"};

    std::filesystem::path write(const std::string& name, const std::string& content, mode_t mode) {
        const auto path = temp_.path() / name;
        std::ofstream(path) << content;
        ::chmod(path.c_str(), mode);
        return path;
    }
};

TEST_F(AdminFiles, TokenFileIsReadFromItsFirstLine) {
    config::Admin admin;
    admin.token_file = write("token", "0123abcd\r\nignored\n", 0600);
    const auto c = ok(proxy::read_admin_credentials(admin));
    EXPECT_EQ(c.check("Bearer 0123abcd"), AdminAuthResult::granted);
    EXPECT_EQ(c.check("Bearer ignored"), AdminAuthResult::rejected);
    EXPECT_EQ(ok(proxy::read_admin_credentials(config::Admin{})).access(),
              config::AdminAccess::loopback_only);
}

TEST_F(AdminFiles, UsersFileIsReadWhole) {
    config::Admin admin;
    admin.basic_auth_file = write("users", "alice:pa:ss\nbob:pw\n", 0600);
    const auto c = ok(proxy::read_admin_credentials(admin));
    EXPECT_EQ(c.check("Basic Ym9iOnB3"), AdminAuthResult::granted);
    admin.basic_auth_file = write("users2", "alice:pa:ss\nbob\n", 0600);
    const auto p = problem(proxy::read_admin_credentials(admin));
    EXPECT_TRUE(has(p, "[admin] basic_auth_file " + admin.basic_auth_file->string() + ": line 2"))
        << p;
}

TEST_F(AdminFiles, FilesMustBePrivateAndPresent) {
    config::Admin admin;
    admin.token_file = write("token", "0123abcd\n", 0644);
    auto p = problem(proxy::read_admin_credentials(admin));
    EXPECT_TRUE(has(p, "[admin] token_file")) << p;
    EXPECT_TRUE(has(p, "has mode 0644")) << p;
    EXPECT_TRUE(has(p, "chmod 600 " + admin.token_file->string())) << p;
    EXPECT_FALSE(has(p, "0123abcd")) << p;
    admin.token_file = temp_.path() / "missing";
    p = problem(proxy::read_admin_credentials(admin));
    EXPECT_TRUE(has(p, "create it with the bearer token on one line")) << p;
    admin.token_file.reset();
    admin.basic_auth_file = write("users", "alice:pw\n", 0640);
    p = problem(proxy::read_admin_credentials(admin));
    EXPECT_TRUE(has(p, "[admin] basic_auth_file")) << p;
    EXPECT_TRUE(has(p, "chmod 600")) << p;
}

// [admin]: safe by default. Loopback needs nothing; any other address needs exactly one kind of
// credentials, and the refusal names file:line, the key and the fix.
#include <gtest/gtest.h>

#include <string>
#include <variant>
#include <vector>

#include "config/checks.hpp"
#include "config/config.hpp"
#include "config/endpoint.hpp"
#include "config/load.hpp"

namespace rdpbridge::config {
namespace {

// Lines 1-7; [admin] starts on line 8.
constexpr std::string_view kBase = R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
[[backend]]
name = "host"
address = "192.0.2.7"
)";

LoadResult with_admin(std::string_view admin) {
    return parse(std::string(kBase) + "[admin]\n" + std::string(admin), "t.toml");
}

Admin admin_of(const LoadResult& result) {
    if (const auto* errors = std::get_if<std::vector<LoadError>>(&result)) {
        for (const LoadError& e : *errors) ADD_FAILURE() << e.to_string();
        return {};
    }
    return std::get<Config>(result).admin;
}

LoadError single_error(const LoadResult& result) {
    const auto* errors = std::get_if<std::vector<LoadError>>(&result);
    if (errors == nullptr || errors->size() != 1) {
        ADD_FAILURE() << (errors ? std::to_string(errors->size()) : "no") << " errors, expected 1";
        return {};
    }
    return errors->front();
}

bool has(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

TEST(AdminConfig, LoopbackAloneNeedsNoCredentials) {
    for (const char* bind :
         {"127.0.0.1:9389", "127.8.9.10:9389", "[::1]:9389", "[::ffff:127.0.0.1]:9389"}) {
        const Admin a = admin_of(with_admin("bind = \"" + std::string(bind) + "\"\n"));
        ASSERT_TRUE(a.bind) << bind;
        EXPECT_EQ(a.access(), AdminAccess::loopback_only) << bind;
    }
}

TEST(AdminConfig, ElsewhereWithoutCredentialsIsRefusedWithTheFix) {
    for (const char* bind :
         {"0.0.0.0:9100", "[::]:9100", "10.0.0.11:9100", "mgmt.example:9100", "localhost:9100"}) {
        const LoadError e = single_error(with_admin("bind = \"" + std::string(bind) + "\"\n"));
        EXPECT_EQ(e.key, "admin.bind") << bind;
        EXPECT_EQ(e.file, "t.toml");
        EXPECT_EQ(e.line, 9) << bind;
        EXPECT_TRUE(has(e.message, "is not a loopback address")) << e.message;
        EXPECT_TRUE(has(e.message, "token_file = \"/etc/rdpbridge/admin-token\"")) << e.message;
        EXPECT_TRUE(has(e.message, "basic_auth_file = ")) << e.message;
        EXPECT_TRUE(has(e.message, "\"127.0.0.1:9100\"")) << e.message;
        EXPECT_TRUE(has(e.to_string(), "t.toml:9:")) << e.to_string();
    }
}

TEST(AdminConfig, EitherFileAllowsAnyAddress) {
    Admin a = admin_of(with_admin("bind = \"0.0.0.0:9100\"\ntoken_file = \"admin-token\"\n"));
    EXPECT_EQ(a.access(), AdminAccess::bearer_token);
    EXPECT_EQ(a.token_file, "admin-token");  // load_file resolves it next to the config
    a = admin_of(with_admin("bind = \"[::]:9100\"\nbasic_auth_file = \"/etc/rdpbridge/u\"\n"));
    EXPECT_EQ(a.access(), AdminAccess::basic_auth);
    EXPECT_EQ(a.basic_auth_file, "/etc/rdpbridge/u");
}

TEST(AdminConfig, CredentialsApplyOnLoopbackToo) {
    const Admin a = admin_of(with_admin("bind = \"127.0.0.1:9389\"\ntoken_file = \"/t\"\n"));
    EXPECT_EQ(a.access(), AdminAccess::bearer_token);
}

TEST(AdminConfig, BothFilesAreRefusedAtTheLaterOne) {
    LoadError e = single_error(
        with_admin("bind = \"0.0.0.0:9100\"\ntoken_file = \"/t\"\nbasic_auth_file = \"/u\"\n"));
    EXPECT_EQ(e.key, "admin.basic_auth_file");
    EXPECT_EQ(e.line, 11);
    EXPECT_TRUE(has(e.message, "both set")) << e.message;
    EXPECT_TRUE(has(e.message, "remove the other")) << e.message;
    e =
        single_error(with_admin("basic_auth_file = \"/u\"\nbind = \"127.0.0.1:1\"\n"
                                "token_file = \"/t\"\n"));
    EXPECT_EQ(e.key, "admin.token_file");
    EXPECT_EQ(e.line, 11);
}

TEST(AdminConfig, AnEmptyFileKeyIsOneErrorNotTwo) {
    const LoadError e = single_error(with_admin("bind = \"0.0.0.0:9100\"\ntoken_file = \"\"\n"));
    EXPECT_EQ(e.key, "admin.token_file");
    EXPECT_TRUE(has(e.message, "must not be empty")) << e.message;
}

TEST(AdminConfig, UnknownKeyListsTheNewOnes) {
    const LoadError e = single_error(with_admin("bind = \"127.0.0.1:1\"\ntoken = \"x\"\n"));
    EXPECT_TRUE(has(e.message, "allowed keys: bind, token_file, basic_auth_file")) << e.message;
}

TEST(AdminConfig, QuickStartAdminFlagMustBeLoopback) {
    QuickStart q;
    q.listen = "127.0.0.1:13389";
    q.target = "192.0.2.7";
    q.admin = "127.0.0.1:9389";
    auto loaded = from_quick_start(q);
    ASSERT_TRUE(std::holds_alternative<Config>(loaded));
    EXPECT_EQ(std::get<Config>(loaded).admin.access(), AdminAccess::loopback_only);
    q.admin = "0.0.0.0:9100";
    const LoadError e = single_error(from_quick_start(q));
    EXPECT_EQ(e.file, "--admin");
    EXPECT_EQ(e.key, "--admin");
    EXPECT_TRUE(has(e.message, "127.0.0.1:9100")) << e.message;
    EXPECT_TRUE(has(e.message, "token_file or basic_auth_file")) << e.message;
}

TEST(AdminConfig, AccessModeTexts) {
    EXPECT_EQ(to_string(AdminAccess::loopback_only), "loopback only");
    EXPECT_EQ(to_string(AdminAccess::bearer_token), "bearer token");
    EXPECT_EQ(to_string(AdminAccess::basic_auth), "basic auth");
}

TEST(Endpoint, LoopbackIsALiteralLoopbackAddress) {
    const auto loopback = [](const char* host) { return is_loopback(Endpoint{host, 1}); };
    EXPECT_TRUE(loopback("127.0.0.1"));
    EXPECT_TRUE(loopback("127.255.255.254"));
    EXPECT_TRUE(loopback("::1"));
    EXPECT_TRUE(loopback("::ffff:127.0.0.1"));
    EXPECT_FALSE(loopback("0.0.0.0"));
    EXPECT_FALSE(loopback("::"));
    EXPECT_FALSE(loopback("128.0.0.1"));
    EXPECT_FALSE(loopback("10.201.0.1"));
    EXPECT_FALSE(loopback("::2"));
    EXPECT_FALSE(loopback("localhost"));  // a name: whatever /etc/hosts says
    EXPECT_EQ(to_string(Endpoint{"::1", 9389}), "[::1]:9389");
    EXPECT_EQ(to_string(Endpoint{"10.0.0.1", 9100}), "10.0.0.1:9100");
}

}  // namespace
}  // namespace rdpbridge::config

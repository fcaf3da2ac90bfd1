// The TLS policies as OpenSSL sees them (tls/context.cpp): the front's floor and AEAD-only
// suites, and each backend's legacy settings confined to that backend's own context.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <string>

#include "temp_dir.hpp"
#include "tls/context.hpp"

using namespace rdpbridge;

namespace {

using rdpbridge::test_support::TempDir;

std::set<std::string> cipher_names(SSL_CTX* ctx) {
    std::set<std::string> names;
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i)
        names.insert(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(ciphers, i)));
    return names;
}

// A backend for a Windows 7-era host: TLS 1.0, security level 0, CBC-SHA suites.
config::BackendTls legacy_backend() {
    config::BackendTls b;
    b.min_version = config::TlsVersion::tls1_0;
    b.max_version = config::TlsVersion::tls1_0;
    b.security_level = 0;
    b.ciphers = "AES128-SHA:AES256-SHA";
    b.legacy_renegotiation = true;
    return b;
}

config::BackendTls modern_backend() {
    config::BackendTls b;
    b.min_version = config::TlsVersion::tls1_2;
    b.max_version = config::TlsVersion::tls1_3;
    b.security_level = 2;
    b.ciphers = "ECDHE-RSA-AES128-GCM-SHA256";
    b.legacy_renegotiation = false;
    return b;
}

class FrontContext : public ::testing::Test {
  protected:
    tls::Context front(config::TlsVersion min = config::TlsVersion::tls1_2) {
        config::FrontTls policy;  // no certificate: one is generated into the state directory
        policy.min_version = min;
        return tls::make_front_context(policy, state_.path());
    }
    TempDir state_;
};

TEST_F(FrontContext, FloorIsTls12WhateverThePolicySays) {
    EXPECT_EQ(SSL_CTX_get_min_proto_version(front().get()), TLS1_2_VERSION);
    // config/load.cpp refuses 1.0 on the front; the context floors it again regardless.
    EXPECT_EQ(SSL_CTX_get_min_proto_version(front(config::TlsVersion::tls1_0).get()),
              TLS1_2_VERSION);
    EXPECT_EQ(SSL_CTX_get_min_proto_version(front(config::TlsVersion::tls1_3).get()),
              TLS1_3_VERSION);
}

TEST_F(FrontContext, OnlyAeadSuitesWithForwardSecrecy) {
    auto ctx = front();
    STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
    ASSERT_GT(sk_SSL_CIPHER_num(ciphers), 0);
    for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
        const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
        const std::string name = SSL_CIPHER_get_name(c);
        EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << name << " is not AEAD";
        EXPECT_EQ(name.find("CBC"), std::string::npos) << name;
        EXPECT_EQ(name.find("SHA1"), std::string::npos) << name;
        const int kx = SSL_CIPHER_get_kx_nid(c);
        EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_dhe || kx == NID_kx_any)
            << name << " has no forward secrecy (" << OBJ_nid2sn(kx) << ")";
    }
    EXPECT_EQ(SSL_CTX_get_security_level(ctx.get()), 2);
    const uint64_t options = SSL_CTX_get_options(ctx.get());
    EXPECT_TRUE(options & SSL_OP_NO_RENEGOTIATION);
    EXPECT_TRUE(options & SSL_OP_NO_COMPRESSION);
    EXPECT_FALSE(options & SSL_OP_ALLOW_UNSAFE_LEGACY_RENEGOTIATION);
    EXPECT_FALSE(options & SSL_OP_LEGACY_SERVER_CONNECT);
}

// Built after a legacy backend, in the order the gateway builds them: nothing of the legacy
// backend's (versions, level, ciphers, renegotiation) reaches another backend or the front.
TEST_F(FrontContext, LegacyBackendSettingsStayInTheirContext) {
    auto legacy = tls::make_backend_context(legacy_backend());
    auto modern = tls::make_backend_context(modern_backend());
    auto ctx = front();

    EXPECT_EQ(SSL_CTX_get_min_proto_version(legacy.get()), TLS1_VERSION);
    EXPECT_EQ(SSL_CTX_get_max_proto_version(legacy.get()), TLS1_VERSION);
    EXPECT_EQ(SSL_CTX_get_security_level(legacy.get()), 0);
    EXPECT_TRUE(cipher_names(legacy.get()).count("AES128-SHA"));
    EXPECT_TRUE(cipher_names(legacy.get()).count("AES256-SHA"));
    EXPECT_TRUE(SSL_CTX_get_options(legacy.get()) & SSL_OP_LEGACY_SERVER_CONNECT);

    for (SSL_CTX* other : {modern.get(), ctx.get()}) {
        SCOPED_TRACE(other == ctx.get() ? "front" : "modern backend");
        EXPECT_GE(SSL_CTX_get_min_proto_version(other), TLS1_2_VERSION);
        EXPECT_EQ(SSL_CTX_get_security_level(other), 2);
        const auto names = cipher_names(other);
        EXPECT_FALSE(names.count("AES128-SHA"));
        EXPECT_FALSE(names.count("AES256-SHA"));
        EXPECT_FALSE(SSL_CTX_get_options(other) & SSL_OP_LEGACY_SERVER_CONNECT);
        // Nor in a connection made from it.
        SSL* ssl = SSL_new(other);
        ASSERT_NE(ssl, nullptr);
        EXPECT_GE(SSL_get_min_proto_version(ssl), TLS1_2_VERSION);
        EXPECT_EQ(SSL_get_security_level(ssl), 2);
        SSL_free(ssl);
    }
    EXPECT_EQ(cipher_names(modern.get()).count("ECDHE-RSA-AES128-GCM-SHA256"), 1u);
}

TEST(BackendContext, TakesExactlyItsPolicy) {
    auto ctx = tls::make_backend_context(legacy_backend());
    // Only the suites the policy names for TLS <= 1.2 (TLS 1.3 suites are listed separately).
    std::set<std::string> tls12;
    for (const auto& name : cipher_names(ctx.get()))
        if (name.rfind("TLS_", 0) != 0) tls12.insert(name);
    EXPECT_EQ(tls12, (std::set<std::string>{"AES128-SHA", "AES256-SHA"}));
    config::BackendTls bad = legacy_backend();
    bad.ciphers = "NO-SUCH-CIPHER";
    EXPECT_THROW(tls::make_backend_context(bad), std::runtime_error);
}

}  // namespace

// Backend TLS resumption (tls/session_cache.cpp): real OpenSSL handshakes in memory between a
// backend context as the gateway builds it and a host context, TLS 1.0 (session IDs, what
// Windows 7 resumes) and TLS 1.3 (tickets), and a host that declines.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "config/config.hpp"
#include "tls/certificate.hpp"
#include "tls/context.hpp"
#include "tls/session_cache.hpp"

using namespace rdpbridge;
namespace fs = std::filesystem;

namespace {

using Ssl = std::unique_ptr<SSL, decltype(&SSL_free)>;

// One RSA certificate for every test: generating it is the slow part.
const tls::CertificateFiles& host_certificate() {
    static const tls::CertificateFiles files = [] {
        std::string dir = (fs::temp_directory_path() / "resume-XXXXXX").string();
        if (!mkdtemp(dir.data())) throw std::runtime_error("mkdtemp failed");
        return tls::ensure_self_signed(dir, "legacy-host");
    }();
    return files;
}

// A host's server context; `cache` false is a host that resumes nothing.
tls::Context host_context(config::TlsVersion version, bool cache) {
    tls::Context ctx(SSL_CTX_new(TLS_server_method()));
    SSL_CTX* c = ctx.get();
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_min_proto_version(c, tls::openssl_version(version));
    SSL_CTX_set_max_proto_version(c, tls::openssl_version(version));
    EXPECT_EQ(
        SSL_CTX_use_certificate_file(c, host_certificate().certificate.c_str(), SSL_FILETYPE_PEM),
        1);
    EXPECT_EQ(
        SSL_CTX_use_PrivateKey_file(c, host_certificate().private_key.c_str(), SSL_FILETYPE_PEM),
        1);
    if (!cache) {
        SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(c, 0);
    }
    return ctx;
}

// The gateway's default backend policy offers TLS 1.0 to 1.3; `version` pins both ends.
tls::Context backend_context(config::TlsVersion version, bool pinned = true) {
    config::BackendTls policy;
    policy.min_version = pinned ? version : config::TlsVersion::tls1_0;
    policy.max_version = pinned ? version : config::TlsVersion::tls1_3;
    policy.verify = config::CertVerify::off;
    return tls::make_backend_context(policy);
}

struct Outcome {
    bool ok = false;
    bool resumed = false;
};

// One connection through a BIO pair; the client reads once afterwards, as the relay would, so
// that a TLS 1.3 host's tickets reach the cache.
Outcome connect(SSL_CTX* client_ctx, SSL_CTX* host_ctx, tls::SessionCache& cache) {
    Ssl client(SSL_new(client_ctx), SSL_free);
    Ssl host(SSL_new(host_ctx), SSL_free);
    BIO *client_bio = nullptr, *host_bio = nullptr;
    BIO_new_bio_pair(&client_bio, 0, &host_bio, 0);
    SSL_set_bio(client.get(), client_bio, client_bio);
    SSL_set_bio(host.get(), host_bio, host_bio);
    cache.offer(client.get());  // before the connect state is set, as the session does
    SSL_set_connect_state(client.get());
    SSL_set_accept_state(host.get());
    bool client_done = false, host_done = false, failed = false;
    for (int round = 0; round < 20 && !(client_done && host_done) && !failed; ++round) {
        for (auto [ssl, done] : {std::pair{client.get(), &client_done}, {host.get(), &host_done}}) {
            if (*done) continue;
            const int r = SSL_do_handshake(ssl);
            if (r == 1) {
                *done = true;
            } else if (const int e = SSL_get_error(ssl, r);
                       e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                failed = true;
            }
        }
    }
    const bool ok = client_done && host_done;
    cache.settle(client.get(), ok);
    if (ok) {
        char byte;
        (void)SSL_read(client.get(), &byte, 1);  // wants more: processes any NewSessionTicket
        // The relay's goodbye. OpenSSL retires a session whose connection ends without our
        // close_notify (a truncation could be an attacker's), on both ends.
        SSL_shutdown(client.get());
        SSL_shutdown(host.get());
    }
    return {ok, ok && SSL_session_reused(client.get()) == 1};
}

}  // namespace

TEST(SessionCache, Tls10SessionIdsResumeAndStayOffered) {
    auto client = backend_context(config::TlsVersion::tls1_0);
    tls::SessionCache cache;
    tls::SessionCache::attach(client.get(), &cache);
    auto host = host_context(config::TlsVersion::tls1_0, true);

    const auto first = connect(client.get(), host.get(), cache);
    ASSERT_TRUE(first.ok);
    EXPECT_FALSE(first.resumed);
    EXPECT_EQ(cache.size(), 1u);
    for (int i = 0; i < 3; ++i) {
        const auto again = connect(client.get(), host.get(), cache);
        ASSERT_TRUE(again.ok);
        EXPECT_TRUE(again.resumed) << "connection " << i + 2;
    }
    EXPECT_EQ(cache.size(), 1u);  // a session ID may be offered as long as the host honours it
}

TEST(SessionCache, ADefaultPolicyResumesWithATls10Host) {
    auto client = backend_context(config::TlsVersion::tls1_0, false);
    tls::SessionCache cache;
    tls::SessionCache::attach(client.get(), &cache);
    auto host = host_context(config::TlsVersion::tls1_0, true);
    ASSERT_TRUE(connect(client.get(), host.get(), cache).ok);
    const auto again = connect(client.get(), host.get(), cache);
    ASSERT_TRUE(again.ok);
    EXPECT_TRUE(again.resumed);
}

TEST(SessionCache, Tls13TicketsAreUsedOnce) {
    auto client = backend_context(config::TlsVersion::tls1_3);
    tls::SessionCache cache;
    tls::SessionCache::attach(client.get(), &cache);
    auto host = host_context(config::TlsVersion::tls1_3, true);

    ASSERT_TRUE(connect(client.get(), host.get(), cache).ok);
    const std::size_t tickets = cache.size();
    ASSERT_GE(tickets, 1u);                  // OpenSSL hosts send two by default
    SSL_CTX_set_num_tickets(host.get(), 0);  // no fresh tickets: the count shows the one used
    const auto again = connect(client.get(), host.get(), cache);
    ASSERT_TRUE(again.ok);
    EXPECT_TRUE(again.resumed);
    EXPECT_EQ(cache.size(), tickets - 1);
}

TEST(SessionCache, AHostThatDeclinesStillConnectsAndItsStaleSessionIsDropped) {
    auto client = backend_context(config::TlsVersion::tls1_0);
    tls::SessionCache cache;
    tls::SessionCache::attach(client.get(), &cache);
    auto host = host_context(config::TlsVersion::tls1_0, true);
    ASSERT_TRUE(connect(client.get(), host.get(), cache).ok);
    ASSERT_EQ(cache.size(), 1u);

    // The host restarted (its cache is empty): a full handshake, and its new session replaces
    // the one it declined.
    auto restarted = host_context(config::TlsVersion::tls1_0, true);
    const auto after_restart = connect(client.get(), restarted.get(), cache);
    ASSERT_TRUE(after_restart.ok);
    EXPECT_FALSE(after_restart.resumed);
    EXPECT_EQ(cache.size(), 1u);

    // A host that resumes nothing (no session ID, no ticket): full handshakes, nothing kept.
    auto never = host_context(config::TlsVersion::tls1_0, false);
    for (int i = 0; i < 2; ++i) {
        const auto outcome = connect(client.get(), never.get(), cache);
        ASSERT_TRUE(outcome.ok);
        EXPECT_FALSE(outcome.resumed);
        EXPECT_EQ(cache.size(), 0u);
    }
}

TEST(SessionCache, IsBounded) {
    auto client = backend_context(config::TlsVersion::tls1_3);
    tls::SessionCache cache(2);
    tls::SessionCache::attach(client.get(), &cache);
    auto host = host_context(config::TlsVersion::tls1_3, true);
    SSL_CTX_set_num_tickets(host.get(), 4);  // four sessions per connection, for a cache of two
    ASSERT_TRUE(connect(client.get(), host.get(), cache).ok);
    EXPECT_EQ(cache.size(), 2u);
}

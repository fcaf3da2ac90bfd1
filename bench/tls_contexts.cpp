#include "bench/tls_contexts.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace rdpbridge::bench {

namespace {

SslCtx new_context(const SSL_METHOD* method) {
    SslCtx ctx(SSL_CTX_new(method));
    if (!ctx) throw std::runtime_error("SSL_CTX_new: " + openssl_error_text());
    // The synthetic peers are not what is measured, but 10,000 idle sessions of them must fit.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
}

void set_legacy_policy(SSL_CTX* c, const HostTlsPolicy& policy) {
    // TLS 1.0 with SHA-1 and MD5 in its PRF is below OpenSSL 3's default security level 1.
    SSL_CTX_set_security_level(c, 0);
    SSL_CTX_set_min_proto_version(c, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(c, TLS1_VERSION);
    // Windows 7's Schannel never implemented Encrypt-then-MAC (RFC 7366); an OpenSSL host would
    // agree to it, and then libssl in the gateway could not use the stitched AES-CBC-HMAC-SHA1
    // sealing that it uses against a real Windows 7 host (and that the relay bound assumes).
    SSL_CTX_set_options(c, SSL_OP_NO_ENCRYPT_THEN_MAC);
    if (SSL_CTX_set_cipher_list(c, policy.ciphers.c_str()) != 1)
        throw std::runtime_error("host cipher list \"" + policy.ciphers +
                                 "\" rejected: " + openssl_error_text());
}

void self_sign(SSL_CTX* c, int key_bits) {
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        EVP_RSA_gen(static_cast<unsigned>(key_bits)), EVP_PKEY_free);
    if (!key) throw std::runtime_error("host key: " + openssl_error_text());
    const X509Ptr cert = self_signed_certificate(key.get(), "bench-host");
    if (SSL_CTX_use_certificate(c, cert.get()) != 1 || SSL_CTX_use_PrivateKey(c, key.get()) != 1)
        throw std::runtime_error("host certificate: " + openssl_error_text());
}

}  // namespace

std::string openssl_error_text() {
    char buf[256] = "no OpenSSL error queued";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

X509Ptr self_signed_certificate(EVP_PKEY* key, const char* common_name) {
    X509Ptr cert(X509_new(), X509_free);
    if (!cert) throw std::runtime_error("X509_new: " + openssl_error_text());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    if (!X509_sign(cert.get(), key, EVP_sha256()))
        throw std::runtime_error(std::string("signing the certificate of ") + common_name + ": " +
                                 openssl_error_text());
    return cert;
}

SslCtx make_modern_client_context() {
    SslCtx ctx = new_context(TLS_client_method());
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx.get(), TLS1_3_VERSION);
    return ctx;
}

SslCtx make_direct_client_context(const HostTlsPolicy& policy) {
    SslCtx ctx = new_context(TLS_client_method());
    set_legacy_policy(ctx.get(), policy);
    return ctx;
}

SslCtx make_host_context(const HostTlsPolicy& policy) {
    SslCtx ctx = new_context(TLS_server_method());
    set_legacy_policy(ctx.get(), policy);
    // Resumption by session ID, as Windows 7's Schannel offers it: OpenSSL's server-side session
    // cache stays on (its default), under a context of its own so that a session is resumed only
    // by this host. No tickets (RFC 5077): Schannel issues them from Server 2012 on, not here.
    // Any proxy in front (rdpbridge's [backend.tls] resume, HAProxy's ssl-reuse) resumes by ID.
    SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_SERVER);
    static const unsigned char kSessionContext[] = "rdpbridge-bench-host";
    SSL_CTX_set_session_id_context(ctx.get(), kSessionContext, sizeof kSessionContext - 1);
    self_sign(ctx.get(), policy.key_bits);
    return ctx;
}

}  // namespace rdpbridge::bench

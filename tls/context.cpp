#include "tls/context.hpp"

#include <openssl/err.h>
#include <unistd.h>

#include <stdexcept>

#include "tls/certificate.hpp"

namespace rdpbridge::tls {

const char* const kFrontCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

namespace {

std::string openssl_error() {
    char buf[256] = "unknown OpenSSL error";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

Context new_context(const SSL_METHOD* method) {
    Context ctx(SSL_CTX_new(method));
    if (!ctx) throw std::runtime_error("SSL_CTX_new failed: " + openssl_error());
    // Idle sessions keep no record buffers; thousands of them must stay cheap.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

std::string local_host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "rdpbridge";
    return name;
}

}  // namespace

int openssl_version(config::TlsVersion v) {
    switch (v) {
        case config::TlsVersion::tls1_0:
            return TLS1_VERSION;
        case config::TlsVersion::tls1_1:
            return TLS1_1_VERSION;
        case config::TlsVersion::tls1_2:
            return TLS1_2_VERSION;
        case config::TlsVersion::tls1_3:
            return TLS1_3_VERSION;
    }
    return TLS1_2_VERSION;
}

Context make_front_context(const config::FrontTls& policy, const std::filesystem::path& state_dir,
                           CertificateFiles* used) {
    Context ctx = new_context(TLS_server_method());
    SSL_CTX* c = ctx.get();
    const int floor = std::max(openssl_version(policy.min_version), TLS1_2_VERSION);
    SSL_CTX_set_min_proto_version(c, floor);
    SSL_CTX_set_max_proto_version(c, 0);
    SSL_CTX_set_security_level(c, 2);
    SSL_CTX_set_options(c, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    // RDP clients do not resume sessions: issuing TLS 1.3 tickets and caching sessions only
    // costs memory and time per connection.
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_cipher_list(c, kFrontCipherList) != 1)
        throw std::runtime_error("front cipher list rejected: " + openssl_error());

    CertificateFiles files;
    if (policy.certificate && policy.private_key) {
        files = {*policy.certificate, *policy.private_key, false};
    } else {
        files = ensure_self_signed(state_dir, local_host_name());
    }
    if (SSL_CTX_use_certificate_chain_file(c, files.certificate.c_str()) != 1)
        throw std::runtime_error("cannot load front certificate " + files.certificate.string() +
                                 ": " + openssl_error() +
                                 " (expected a PEM certificate chain, leaf first)");
    if (SSL_CTX_use_PrivateKey_file(c, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw std::runtime_error("cannot load front private key " + files.private_key.string() +
                                 ": " + openssl_error() + " (expected an unencrypted PEM key)");
    if (SSL_CTX_check_private_key(c) != 1)
        throw std::runtime_error("front private key " + files.private_key.string() +
                                 " does not match certificate " + files.certificate.string());
    if (used) *used = files;
    return ctx;
}

Context make_backend_context(const config::BackendTls& policy) {
    Context ctx = new_context(TLS_client_method());
    SSL_CTX* c = ctx.get();
    SSL_CTX_set_min_proto_version(c, openssl_version(policy.min_version));
    SSL_CTX_set_max_proto_version(c, openssl_version(policy.max_version));
    SSL_CTX_set_security_level(c, policy.security_level);
    long options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET;
    if (policy.legacy_renegotiation) options |= SSL_OP_LEGACY_SERVER_CONNECT;
    SSL_CTX_set_options(c, options);
    if (!policy.legacy_renegotiation) SSL_CTX_clear_options(c, SSL_OP_LEGACY_SERVER_CONNECT);
    if (SSL_CTX_set_cipher_list(c, policy.ciphers.c_str()) != 1)
        throw std::runtime_error("backend cipher list \"" + policy.ciphers +
                                 "\" rejected by OpenSSL: " + openssl_error());
    if (policy.verify == config::CertVerify::ca) {
        if (SSL_CTX_load_verify_locations(c, policy.ca_file->c_str(), nullptr) != 1)
            throw std::runtime_error("cannot load backend CA file " + policy.ca_file->string() +
                                     ": " + openssl_error());
        SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
    } else {
        // "off" and "pin": the pin is checked after the handshake (see inspect.hpp), so that a
        // mismatch is reported as such rather than as a generic verify failure.
        SSL_CTX_set_verify(c, SSL_VERIFY_NONE, nullptr);
    }
    return ctx;
}

}  // namespace rdpbridge::tls

// The TLS policies of the synthetic peers, as plain OpenSSL contexts: a modern client (TLS 1.3
// only, as Windows 11 mstsc speaks to the gateway), a Windows 7-like host (TLS 1.0, AES-CBC-SHA,
// RSA key exchange, a self-signed RSA certificate generated at start) and a direct client that
// speaks the host's TLS 1.0, for the latency baseline without the gateway.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace rdpbridge::bench {

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using SslCtx = std::unique_ptr<SSL_CTX, SslCtxFree>;

struct HostTlsPolicy {
    std::string ciphers = "AES128-SHA:AES256-SHA";  // Windows 7 picks AES128-SHA first
    int key_bits = 2048;
};

SslCtx make_modern_client_context();
SslCtx make_direct_client_context(const HostTlsPolicy& policy);
SslCtx make_host_context(const HostTlsPolicy& policy);

// "OpenSSL: <last error>", for exceptions.
std::string openssl_error_text();

// A certificate for `key`, self-signed, named CN=`common_name`, valid from an hour ago for a
// week: what the synthetic host and the bench's ECDSA front certificate need. Throws on failure.
using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
X509Ptr self_signed_certificate(EVP_PKEY* key, const char* common_name);

}  // namespace rdpbridge::bench

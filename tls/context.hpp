// OpenSSL contexts as data: one for the front (modern, fixed floor) and one per backend
// (whatever that host needs, down to TLS 1.0 at security level 0). They are separate SSL_CTX
// objects built from separate policies, so a legacy setting can never reach the front.
#pragma once

#include <openssl/ssl.h>

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "tls/certificate.hpp"

namespace rdpbridge::tls {

struct CtxDeleter {
    void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
using Context = std::unique_ptr<SSL_CTX, CtxDeleter>;

// TLS 1.2 floor (or 1.3), AEAD suites with forward secrecy only, server cipher preference, no
// renegotiation. The certificate is the operator's, or one generated into `state_dir`.
// Throws std::runtime_error naming the file and the fix when something cannot be loaded.
// `used`, when given, receives the files loaded (and whether they were generated just now).
Context make_front_context(const config::FrontTls& policy, const std::filesystem::path& state_dir,
                           CertificateFiles* used = nullptr);

// Exactly the versions, ciphers and security level the backend profile allows.
Context make_backend_context(const config::BackendTls& policy);

// OpenSSL's version constant for our version enum.
int openssl_version(config::TlsVersion v);

// The cipher list the front side uses for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults,
// which are all AEAD).
extern const char* const kFrontCipherList;

}  // namespace rdpbridge::tls

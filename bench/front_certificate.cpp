#include "bench/front_certificate.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>

#include "bench/tls_contexts.hpp"

namespace rdpbridge::bench {

namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;
using File = std::unique_ptr<FILE, decltype(&std::fclose)>;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("ECDSA front certificate: " + what + ": " + openssl_error_text());
}

File create(const std::filesystem::path& path, mode_t mode) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) throw std::runtime_error("cannot write " + path.string());
    File f(::fdopen(fd, "w"), std::fclose);
    if (!f) {
        ::close(fd);
        throw std::runtime_error("cannot write " + path.string());
    }
    return f;
}

}  // namespace

FrontCertificate write_ecdsa_front_certificate(const std::filesystem::path& dir) {
    std::filesystem::create_directories(dir);
    Key key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    Cert cert(X509_new(), X509_free);
    if (!key || !cert) fail("key generation");
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("bench-gateway"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    if (!X509_sign(cert.get(), key.get(), EVP_sha256())) fail("signing");

    FrontCertificate out{dir / "front-cert-ecdsa.pem", dir / "front-key-ecdsa.pem"};
    std::filesystem::remove(out.private_key);  // so that it is created with mode 0600
    File k = create(out.private_key, 0600);
    if (PEM_write_PrivateKey(k.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("writing " + out.private_key.string());
    File c = create(out.certificate, 0644);
    if (PEM_write_X509(c.get(), cert.get()) != 1) fail("writing " + out.certificate.string());
    return out;
}

}  // namespace rdpbridge::bench

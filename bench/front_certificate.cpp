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
    if (!key) fail("key generation");
    const X509Ptr cert = self_signed_certificate(key.get(), "bench-gateway");

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

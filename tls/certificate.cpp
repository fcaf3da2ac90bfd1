#include "tls/certificate.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace rdpbridge::tls {

namespace {

constexpr long kValiditySeconds = 2L * 365 * 24 * 3600;
constexpr char kCertName[] = "front-cert.pem";
constexpr char kKeyName[] = "front-key.pem";

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;
using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using Cert = std::unique_ptr<X509, decltype(&X509_free)>;

[[noreturn]] void fail(const std::string& what, const std::filesystem::path& path) {
    throw std::runtime_error(what + " " + path.string() +
                             ": check that the state directory is writable by the gateway's "
                             "user, or set [listener.tls] certificate and private_key");
}

Cert read_certificate(const std::filesystem::path& path) {
    File f(std::fopen(path.c_str(), "r"));
    if (!f) return Cert(nullptr, X509_free);
    return Cert(PEM_read_X509(f.get(), nullptr, nullptr, nullptr), X509_free);
}

bool still_valid(const std::filesystem::path& cert_path) {
    Cert cert = read_certificate(cert_path);
    return cert && X509_cmp_current_time(X509_get0_notAfter(cert.get())) > 0;
}

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext) {
        X509_add_ext(cert, ext, -1);
        X509_EXTENSION_free(ext);
    }
}

Cert make_certificate(EVP_PKEY* key, const std::string& cn) {
    Cert cert(X509_new(), X509_free);
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    FILE* r = std::fopen("/dev/urandom", "r");
    if (!r || std::fread(serial, 1, sizeof serial, r) != sizeof serial) {
        if (r) std::fclose(r);
        throw std::runtime_error("cannot read /dev/urandom for a certificate serial number");
    }
    std::fclose(r);
    serial[0] &= 0x7F;  // positive INTEGER
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds);
    X509_set_pubkey(cert.get(), key);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("rdpbridge"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    add_extension(cert.get(), NID_subject_alt_name, ("DNS:" + cn).c_str());
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    // Server Authentication, which mstsc requires of an RDP certificate.
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment");
    if (!X509_sign(cert.get(), key, EVP_sha256()))
        throw std::runtime_error("signing the generated front certificate failed");
    return cert;
}

// Writes through a temporary file renamed over `path`, so that a reader never sees half a file.
// The temporary file is always a new one, created 0600 with O_EXCL|O_NOFOLLOW: a symlink
// planted under its name is not followed (O_EXCL refuses any existing name), and a stale one
// left by a crash is removed first rather than reused with whatever mode it had. The key is
// thus never readable by others, not even briefly; `mode` is set on the descriptor before the
// rename, whatever the umask. rename() replaces a symlink at `path` itself, never its target.
void write_pem(const std::filesystem::path& path, mode_t mode, auto&& writer) {
    const std::string tmp = path.string() + ".tmp";
    if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) fail("cannot remove stale", tmp);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          S_IRUSR | S_IWUSR);
    if (fd < 0) fail("cannot create", tmp);
    File f(::fdopen(fd, "w"));
    if (!f) {
        ::close(fd);
        ::unlink(tmp.c_str());
        fail("cannot write", tmp);
    }
    const bool written =
        writer(f.get()) && std::fflush(f.get()) == 0 && ::fchmod(fd, mode) == 0 && ::fsync(fd) == 0;
    const bool closed = std::fclose(f.release()) == 0;
    if (!written || !closed) {
        ::unlink(tmp.c_str());
        fail("cannot write PEM to", tmp);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        ::unlink(tmp.c_str());
        fail("cannot rename " + tmp + " to", path);
    }
}

}  // namespace

std::filesystem::path generated_certificate_path(const std::filesystem::path& state_dir) {
    return state_dir / kCertName;
}

CertificateFiles ensure_self_signed(const std::filesystem::path& state_dir,
                                    const std::string& common_name) {
    CertificateFiles files{state_dir / kCertName, state_dir / kKeyName, false};
    if (std::filesystem::exists(files.private_key) && still_valid(files.certificate)) return files;

    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) fail("cannot create state directory", state_dir);

    Key key(EVP_RSA_gen(2048), EVP_PKEY_free);
    if (!key) throw std::runtime_error("generating an RSA-2048 key for the front failed");
    Cert cert = make_certificate(key.get(), common_name);
    write_pem(files.private_key, 0600, [&](FILE* f) {
        return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1;
    });
    // State files are the service's alone (0600); clients get the certificate over TLS, and
    // `rdpbridge cert` shows it to an admin.
    write_pem(files.certificate, 0600, [&](FILE* f) { return PEM_write_X509(f, cert.get()) == 1; });
    files.generated = true;
    return files;
}

}  // namespace rdpbridge::tls

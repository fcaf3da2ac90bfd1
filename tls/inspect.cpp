#include "tls/inspect.hpp"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace rdpbridge::tls {

namespace {

std::string name_string(const X509_NAME* name) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, std::size_t(len));
}

std::string iso_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(t, &tm) != 1) return "";
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

int days_until(const ASN1_TIME* t) {
    int days = 0, seconds = 0;
    if (ASN1_TIME_diff(&days, &seconds, nullptr, t) != 1) return 0;
    return days;
}

std::string normalise_hex(const std::string& s) {
    std::string out;
    for (char c : s)
        if (std::isxdigit(static_cast<unsigned char>(c)))
            out.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

std::string hex(const unsigned char* md, unsigned int n) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out.push_back(digits[md[i] >> 4]);
        out.push_back(digits[md[i] & 15]);
    }
    return out;
}

}  // namespace

namespace {

// Every session to a host presents the same certificate: its facts are worked out once (names
// printed, times converted, the key re-encoded and hashed) and then found by the certificate's
// fingerprint. Bounded: a host that changes certificates often only empties the cache.
class FactCache {
  public:
    std::optional<PeerCertificate> find(const std::string& sha256) {
        const std::lock_guard lock(mutex_);
        const auto it = facts_.find(sha256);
        if (it == facts_.end()) return std::nullopt;
        return it->second;
    }
    void add(const PeerCertificate& p) {
        const std::lock_guard lock(mutex_);
        if (facts_.size() >= kLimit) facts_.clear();
        facts_.emplace(p.sha256, p);
    }

  private:
    static constexpr std::size_t kLimit = 256;
    std::mutex mutex_;
    std::unordered_map<std::string, PeerCertificate> facts_;
};

FactCache& fact_cache() {
    static FactCache cache;
    return cache;
}

}  // namespace

std::optional<PeerCertificate> describe_certificate(X509* cert) {
    if (!cert) return std::nullopt;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    std::string sha256;
    if (X509_digest(cert, EVP_sha256(), md, &md_len) == 1) sha256 = hex(md, md_len);
    if (!sha256.empty()) {
        if (auto known = fact_cache().find(sha256)) {
            known->days_left = days_until(X509_get0_notAfter(cert));  // the clock moved on
            return known;
        }
    }
    PeerCertificate p;
    p.sha256 = sha256;
    p.subject = name_string(X509_get_subject_name(cert));
    p.issuer = name_string(X509_get_issuer_name(cert));
    p.not_before = iso_time(X509_get0_notBefore(cert));
    p.not_after = iso_time(X509_get0_notAfter(cert));
    p.days_left = days_until(X509_get0_notAfter(cert));
    // The key alone, so that a certificate renewed for the same key is recognised as the host's.
    // (`openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | sha256sum`.)
    unsigned char* spki = nullptr;
    const int spki_len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &spki);
    if (spki_len > 0 && EVP_Digest(spki, std::size_t(spki_len), md, &md_len, EVP_sha256(), nullptr))
        p.spki_sha256 = hex(md, md_len);
    OPENSSL_free(spki);
    if (EVP_PKEY* key = X509_get0_pubkey(cert)) p.key_bits = EVP_PKEY_get_bits(key);
    p.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));
    if (!p.sha256.empty()) fact_cache().add(p);
    return p;
}

std::string version_name(int version) {
    switch (version) {
        case SSL3_VERSION:
            return "SSL 3.0";
        case TLS1_VERSION:
            return "TLS 1.0";
        case TLS1_1_VERSION:
            return "TLS 1.1";
        case TLS1_2_VERSION:
            return "TLS 1.2";
        case TLS1_3_VERSION:
            return "TLS 1.3";
    }
    char text[16];
    std::snprintf(text, sizeof text, "0x%04x", unsigned(version));
    return text;
}

SessionFacts inspect(SSL* ssl) {
    SessionFacts f;
    f.version = SSL_get_version(ssl);
    if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) f.cipher = SSL_CIPHER_get_name(c);
    f.secure_renegotiation = SSL_get_secure_renegotiation_support(ssl) == 1;
    f.resumed = SSL_session_reused(ssl) == 1;
    std::unique_ptr<X509, decltype(&X509_free)> peer(SSL_get1_peer_certificate(ssl), X509_free);
    f.peer = describe_certificate(peer.get());
    return f;
}

bool pin_matches(const std::string& pin_hex, const std::string& sha256_hex) {
    return !pin_hex.empty() && normalise_hex(pin_hex) == normalise_hex(sha256_hex);
}

}  // namespace rdpbridge::tls

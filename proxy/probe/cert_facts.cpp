#include "proxy/probe/cert_facts.hpp"

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include <memory>

#include "tls/inspect.hpp"

namespace rdpbridge::probe {

namespace {

std::vector<std::string> alt_names(X509* cert) {
    std::vector<std::string> out;
    auto* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (!names) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
        if (n->type == GEN_DNS || n->type == GEN_EMAIL || n->type == GEN_URI) {
            const ASN1_STRING* s = n->d.ia5;
            const std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    std::size_t(ASN1_STRING_length(s)));
            std::string entry = n->type == GEN_DNS   ? "DNS:"
                                : n->type == GEN_URI ? "URI:"
                                                     : "email:";
            out.push_back(entry.append(value));
        } else if (n->type == GEN_IPADD) {
            const ASN1_OCTET_STRING* ip = n->d.ip;
            const unsigned char* b = ASN1_STRING_get0_data(ip);
            std::string text;
            if (ASN1_STRING_length(ip) == 4) {
                for (int k = 0; k < 4; ++k) {
                    if (k) text += '.';
                    text += std::to_string(b[k]);
                }
            } else {
                static const char digits[] = "0123456789abcdef";
                for (int k = 0; k < ASN1_STRING_length(ip); ++k) {
                    if (k && k % 2 == 0) text += ':';
                    text += digits[b[k] >> 4];
                    text += digits[b[k] & 15];
                }
            }
            out.push_back(std::string("IP:").append(text));
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

// Self-signed: issued by its own subject and verifiable with its own key. A self-issued
// certificate signed by another key (a CA's key rollover) is not.
bool self_signed(X509* cert) {
    if (X509_NAME_cmp(X509_get_subject_name(cert), X509_get_issuer_name(cert)) != 0) return false;
    EVP_PKEY* key = X509_get0_pubkey(cert);
    return key && X509_verify(cert, key) == 1;
}

}  // namespace

std::optional<CertificateFacts> certificate_facts(X509* cert) {
    const auto base = tls::describe_certificate(cert);
    if (!base) return std::nullopt;
    CertificateFacts f;
    f.subject = base->subject;
    f.issuer = base->issuer;
    f.not_before = base->not_before;
    f.not_after = base->not_after;
    f.days_left = base->days_left;
    f.expired = X509_cmp_current_time(X509_get0_notAfter(cert)) < 0;
    f.not_yet_valid = X509_cmp_current_time(X509_get0_notBefore(cert)) > 0;
    f.key_bits = base->key_bits;
    f.signature_algorithm = base->signature_algorithm;
    f.sha256 = base->sha256;
    f.spki_sha256 = base->spki_sha256;
    f.subject_alt_names = alt_names(cert);
    if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
        const char* type = EVP_PKEY_get0_type_name(key);
        f.key_type = type ? type : "unknown";
    }
    f.self_signed = self_signed(cert);
    return f;
}

std::optional<CertificateFacts> certificate_facts(rdp::ByteView der) {
    const unsigned char* p = der.data();
    std::unique_ptr<X509, decltype(&X509_free)> cert(d2i_X509(nullptr, &p, long(der.size())),
                                                     X509_free);
    if (!cert) return std::nullopt;
    return certificate_facts(cert.get());
}

}  // namespace rdpbridge::probe

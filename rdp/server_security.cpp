#include "rdp/server_security.hpp"

#include <algorithm>
#include <array>

#include "rdp/crypto.hpp"

namespace rdpbridge::rdp {

namespace {

constexpr uint32_t kCertChainVersion1 = 1;  // proprietary
constexpr uint32_t kCertChainVersion2 = 2;  // X.509 chain
constexpr uint32_t kTemporaryBit = 0x80000000;
constexpr uint32_t kRsa1Magic = 0x31415352;
constexpr uint16_t kPublicKeyBlob = 0x0006;
constexpr uint16_t kSignatureBlob = 0x0008;
constexpr std::size_t kRandomSize = 32;
constexpr uint32_t kMaxChain = 16;
// A huge host key would make the RSA exchange cost seconds of CPU on the gateway's thread.
constexpr uint32_t kMinRsaBits = 512;
constexpr uint32_t kMaxRsaBits = 4096;

// The Terminal Services signing key, published in [MS-RDPBCGR] 5.3.3.1.1 (little-endian).
constexpr std::array<uint8_t, 64> kTsModulus{
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1, 0x1e, 0x4a, 0xba, 0x5f, 0xcb,
    0x3e, 0x88, 0x20, 0x87, 0xef, 0xf5, 0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52, 0x45, 0x95,
    0xce, 0x63, 0x65, 0x6b, 0x58, 0x3a, 0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe, 0x3d, 0xf6, 0x5c, 0x7d,
    0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61, 0xbb, 0x20, 0x93, 0x09, 0x5f, 0x05, 0x6d, 0xea, 0x87};
constexpr std::array<uint8_t, 4> kTsExponent{0x5b, 0x7b, 0x88, 0xc0};

// 5.3.3.1.3: the decrypted signature is the MD5 hash, 0x00, 0xFF padding, then 0x01. nullopt
// when OpenSSL cannot check it: the signature decides nothing (no CA stands behind the key), and
// the session's own key derivation then stops with OpenSSL's reason.
std::optional<bool> signature_matches(ByteView signed_part, ByteView signature) {
    if (signature.size() < kTsModulus.size()) return false;
    const auto m =
        crypto::rsa_public_le(signature.first(kTsModulus.size()), kTsModulus, kTsExponent);
    const auto hash = crypto::md5({signed_part});
    if (!m || !hash) return std::nullopt;
    if (!std::equal(hash->begin(), hash->end(), m->begin())) return false;
    if ((*m)[16] != 0x00 || (*m)[62] != 0x01) return false;
    return std::all_of(m->begin() + 17, m->begin() + 62, [](uint8_t b) { return b == 0xFF; });
}

Result<RsaPublicKey> read_rsa1_blob(ByteView blob) {
    Reader r(blob);
    auto magic = r.u32le("server_certificate.public_key.magic");
    if (!magic) return magic.error();
    if (*magic != kRsa1Magic)
        return Error{"server_certificate.public_key.magic",
                     "expected \"RSA1\", got " + hex32(*magic)};
    auto keylen = r.u32le("server_certificate.public_key.keylen");
    auto bitlen = r.u32le("server_certificate.public_key.bitlen");
    auto datalen = r.u32le("server_certificate.public_key.datalen");
    auto exponent = r.u32le("server_certificate.public_key.pub_exp");
    for (auto* f : {&keylen, &bitlen, &datalen, &exponent})
        if (!*f) return f->error();
    if (*bitlen < kMinRsaBits || *bitlen > kMaxRsaBits)
        return Error{"server_certificate.public_key.bitlen",
                     std::to_string(*bitlen) + " bits is outside 512..4096"};
    if (*keylen < 8 + 8 || *keylen != (*bitlen / 8) + 8)
        return Error{"server_certificate.public_key.keylen",
                     std::to_string(*keylen) + " does not match bitlen " + std::to_string(*bitlen)};
    auto modulus = r.bytes(*keylen, "server_certificate.public_key.modulus");
    if (!modulus) return modulus.error();
    RsaPublicKey key;
    key.modulus.assign(modulus->begin(), modulus->end() - 8);  // drop the 8 padding zeros
    key.exponent = *exponent;
    key.bits = *bitlen;
    return key;
}

Result<ServerCertificate> read_proprietary(ByteView cert) {
    Reader r(cert);
    if (auto s = r.skip(4, "server_certificate.dw_version"); !s) return s.error();
    auto sig_alg = r.u32le("server_certificate.dw_sig_alg_id");
    if (!sig_alg) return sig_alg.error();
    auto key_alg = r.u32le("server_certificate.dw_key_alg_id");
    if (!key_alg) return key_alg.error();
    auto blob_type = r.u16le("server_certificate.public_key_blob_type");
    if (!blob_type) return blob_type.error();
    if (*blob_type != kPublicKeyBlob)
        return Error{"server_certificate.public_key_blob_type",
                     "expected 0x0006, got " + std::to_string(*blob_type)};
    auto blob_len = r.u16le("server_certificate.public_key_blob_len");
    if (!blob_len) return blob_len.error();
    auto blob = r.bytes(*blob_len, "server_certificate.public_key_blob");
    if (!blob) return blob.error();
    const ByteView signed_part = cert.first(r.position());
    auto sig_type = r.u16le("server_certificate.signature_blob_type");
    if (!sig_type) return sig_type.error();
    if (*sig_type != kSignatureBlob)
        return Error{"server_certificate.signature_blob_type",
                     "expected 0x0008, got " + std::to_string(*sig_type)};
    auto sig_len = r.u16le("server_certificate.signature_blob_len");
    if (!sig_len) return sig_len.error();
    auto signature = r.bytes(*sig_len, "server_certificate.signature_blob");
    if (!signature) return signature.error();
    auto key = read_rsa1_blob(*blob);
    if (!key) return key.error();
    ServerCertificate out;
    out.kind = CertificateKind::proprietary;
    out.key = std::move(*key);
    out.signature_valid = signature_matches(signed_part, *signature);
    return out;
}

Result<ServerCertificate> read_x509_chain(ByteView cert) {
    Reader r(cert);
    if (auto s = r.skip(4, "server_certificate.dw_version"); !s) return s.error();
    auto count = r.u32le("server_certificate.num_cert_blobs");
    if (!count) return count.error();
    if (*count < 1 || *count > kMaxChain)
        return Error{"server_certificate.num_cert_blobs",
                     std::to_string(*count) + " is outside 1.." + std::to_string(kMaxChain)};
    ServerCertificate out;
    out.kind = CertificateKind::x509;
    for (uint32_t i = 0; i < *count; ++i) {
        auto len = r.u32le("server_certificate.cert_blob.length");
        if (!len) return len.error();
        auto der = r.bytes(*len, "server_certificate.cert_blob");
        if (!der) return der.error();
        out.x509_chain.emplace_back(der->begin(), der->end());
    }
    auto key = crypto::x509_rsa_key(out.x509_chain.back());
    if (!key)
        return Error{"server_certificate.cert_blob",
                     "last certificate of the chain does not hold an RSA public key"};
    if (key->bits < int(kMinRsaBits) || key->bits > int(kMaxRsaBits))
        return Error{"server_certificate.cert_blob",
                     "RSA key of " + std::to_string(key->bits) + " bits is outside 512..4096"};
    out.key.modulus = std::move(key->modulus);
    out.key.exponent = key->exponent;
    out.key.bits = uint32_t(key->bits);
    return out;
}

}  // namespace

std::string encryption_methods_to_string(uint32_t methods) {
    if (methods == encryption_method::none) return "NONE";
    std::string s;
    const std::pair<uint32_t, const char*> names[] = {{encryption_method::bits40, "40BIT"},
                                                      {encryption_method::bits56, "56BIT"},
                                                      {encryption_method::bits128, "128BIT"},
                                                      {encryption_method::fips, "FIPS"}};
    for (auto [bit, name] : names) {
        if (!(methods & bit)) continue;
        if (!s.empty()) s += '|';
        s += name;
    }
    return s.empty() ? hex32(methods) : s;
}

std::string to_string(EncryptionLevel level) {
    switch (level) {
        case EncryptionLevel::none:
            return "NONE";
        case EncryptionLevel::low:
            return "LOW";
        case EncryptionLevel::client_compatible:
            return "CLIENT_COMPATIBLE";
        case EncryptionLevel::high:
            return "HIGH";
        case EncryptionLevel::fips:
            return "FIPS";
    }
    return "UNKNOWN(" + std::to_string(uint32_t(level)) + ")";
}

Result<ServerSecurity> decode_server_security(const gcc::DataBlock& sc_security) {
    Reader r(sc_security.body);
    ServerSecurity out;
    auto method = r.u32le("sc_security.encryption_method");
    if (!method) return method.error();
    auto level = r.u32le("sc_security.encryption_level");
    if (!level) return level.error();
    if (*level > uint32_t(EncryptionLevel::fips))
        return Error{"sc_security.encryption_level", std::to_string(*level) + " is not 0..4"};
    out.method = *method;
    out.level = EncryptionLevel(*level);
    if (out.method == encryption_method::none && r.empty()) return out;
    auto random_len = r.u32le("sc_security.server_random_len");
    if (!random_len) return random_len.error();
    if (*random_len != kRandomSize)
        return Error{"sc_security.server_random_len",
                     "expected 32, got " + std::to_string(*random_len)};
    auto cert_len = r.u32le("sc_security.server_cert_len");
    if (!cert_len) return cert_len.error();
    auto random = r.bytes(kRandomSize, "sc_security.server_random");
    if (!random) return random.error();
    out.server_random.assign(random->begin(), random->end());
    auto cert = r.bytes(*cert_len, "sc_security.server_certificate");
    if (!cert) return cert.error();
    Reader v(*cert);
    auto version = v.u32le("server_certificate.dw_version");
    if (!version) return version.error();
    const uint32_t chain = *version & ~kTemporaryBit;
    Result<ServerCertificate> parsed =
        chain == kCertChainVersion1 ? read_proprietary(*cert)
        : chain == kCertChainVersion2
            ? read_x509_chain(*cert)
            : Result<ServerCertificate>(
                  Error{"server_certificate.dw_version",
                        "unknown certificate chain version " + hex32(*version)});
    if (!parsed) return parsed.error();
    parsed->temporary = (*version & kTemporaryBit) != 0;
    out.certificate = std::move(*parsed);
    return out;
}

gcc::DataBlock tls_server_security() {
    return gcc::DataBlock{gcc::block::sc_security, Bytes(8, 0)};
}

}  // namespace rdpbridge::rdp

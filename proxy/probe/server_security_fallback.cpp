// TEMPORARY stand-in for rdp/server_security.cpp (declared in rdp/server_security.hpp, being
// written by the lead). proxy/CMakeLists.txt compiles this file only while rdpbridge_rdp has no
// server_security.cpp, so the two can never both be linked; delete it once that file lands.
// Unlike rdp/, it may use OpenSSL, which keeps the RSA arithmetic here short.
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <initializer_list>
#include <memory>

#include "rdp/server_security.hpp"

namespace rdpbridge::rdp {

namespace {

constexpr uint32_t kCertChainVersion1 = 1;
constexpr uint32_t kCertChainVersion2 = 2;
constexpr uint32_t kTemporaryBit = 0x80000000;
constexpr uint32_t kRsaMagic = 0x31415352;  // "RSA1"
constexpr uint16_t kPublicKeyBlob = 0x0006;
constexpr uint16_t kSignatureBlob = 0x0008;
constexpr std::size_t kPadding = 8;
constexpr std::size_t kMaxChain = 16;

// The Terminal Services signing key, published in [MS-RDPBCGR] 5.3.3.1.1 (little-endian).
constexpr std::array<uint8_t, 64> kTsModulus{
    0x3d, 0x3a, 0x5e, 0xbd, 0x72, 0x43, 0x3e, 0xc9, 0x4d, 0xbb, 0xc1, 0x1e, 0x4a, 0xba, 0x5f,
    0xcb, 0x3e, 0x88, 0x20, 0x87, 0xef, 0xf5, 0xc1, 0xe2, 0xd7, 0xb7, 0x6b, 0x9a, 0xf2, 0x52,
    0x45, 0x95, 0xce, 0x63, 0x65, 0x6b, 0x58, 0x3a, 0xfe, 0xef, 0x7c, 0xe7, 0xbf, 0xfe, 0x3d,
    0xf6, 0x5c, 0x7d, 0x6c, 0x5e, 0x06, 0x09, 0x1a, 0xf5, 0x61, 0xbb, 0x20, 0x93, 0x09, 0x5f,
    0x05, 0x6d, 0xea, 0x87};
constexpr uint32_t kTsExponent = 0xc0887b5b;

using BnPtr = std::unique_ptr<BIGNUM, decltype(&BN_free)>;

BnPtr from_le(ByteView b) {
    return BnPtr(BN_lebin2bn(b.data(), int(b.size()), nullptr), BN_free);
}

// 5.3.3.1.2: the signature, raised to the public exponent, is MD5(signed data) followed by
// 0x00, 0xFF x 45, 0x01 (63 bytes, little-endian, then a zero byte).
bool verify_proprietary(ByteView signed_data, ByteView signature) {
    if (signature.size() != kTsModulus.size()) return false;
    std::array<uint8_t, 16> md5{};
    unsigned int md5_len = 0;
    if (EVP_Digest(signed_data.data(), signed_data.size(), md5.data(), &md5_len, EVP_md5(),
                   nullptr) != 1)
        return false;
    auto n = from_le(kTsModulus);
    auto s = from_le(signature);
    BnPtr e(BN_new(), BN_free);
    BnPtr m(BN_new(), BN_free);
    std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
    if (!n || !s || !e || !m || !ctx || BN_set_word(e.get(), kTsExponent) != 1 ||
        BN_mod_exp(m.get(), s.get(), e.get(), n.get(), ctx.get()) != 1)
        return false;
    std::array<uint8_t, 64> out{};
    if (BN_bn2lebinpad(m.get(), out.data(), int(out.size())) != int(out.size())) return false;
    if (!std::equal(md5.begin(), md5.end(), out.begin())) return false;
    if (out[16] != 0x00 || out[62] != 0x01 || out[63] != 0x00) return false;
    return std::all_of(out.begin() + 17, out.begin() + 62, [](uint8_t b) { return b == 0xFF; });
}

struct U32Field {
    uint32_t* out;
    const char* name;
};
struct U16Field {
    uint16_t* out;
    const char* name;
};

// Reads consecutive fields; the first one that does not fit is the error.
Status read_fields(Reader& r, std::initializer_list<U32Field> fields) {
    for (const auto& f : fields) {
        auto v = r.u32le(f.name);
        if (!v) return v.error();
        *f.out = *v;
    }
    return Ok{};
}
Status read_fields(Reader& r, std::initializer_list<U16Field> fields) {
    for (const auto& f : fields) {
        auto v = r.u16le(f.name);
        if (!v) return v.error();
        *f.out = *v;
    }
    return Ok{};
}

Result<RsaPublicKey> read_rsa_blob(ByteView blob) {
    Reader r(blob);
    uint32_t magic = 0, keylen = 0, bitlen = 0, datalen = 0, exponent = 0;
    if (auto s = read_fields(r, {{&magic, "sc_security.certificate.public_key.magic"},
                                 {&keylen, "sc_security.certificate.public_key.keylen"},
                                 {&bitlen, "sc_security.certificate.public_key.bitlen"},
                                 {&datalen, "sc_security.certificate.public_key.datalen"},
                                 {&exponent, "sc_security.certificate.public_key.pubexp"}});
        !s)
        return s.error();
    if (magic != kRsaMagic)
        return Error{"sc_security.certificate.public_key.magic", "expected RSA1, got " + hex32(magic)};
    if (keylen < kPadding)
        return Error{"sc_security.certificate.public_key.keylen", "shorter than its padding"};
    auto modulus = r.bytes(keylen - kPadding, "sc_security.certificate.public_key.modulus");
    if (!modulus) return modulus.error();
    RsaPublicKey key;
    key.modulus.assign(modulus->begin(), modulus->end());
    key.exponent = exponent;
    key.bits = bitlen;
    return key;
}

Result<ServerCertificate> read_proprietary(ByteView cert, uint32_t version) {
    Reader r(cert);
    uint32_t ignored_version = 0, sig_alg = 0, key_alg = 0;
    uint16_t blob_type = 0, blob_len = 0;
    if (auto s = read_fields(r, {{&ignored_version, "sc_security.certificate.version"},
                                 {&sig_alg, "sc_security.certificate.sig_alg_id"},
                                 {&key_alg, "sc_security.certificate.key_alg_id"}});
        !s)
        return s.error();
    if (auto s = read_fields(r, {{&blob_type, "sc_security.certificate.public_key_blob_type"},
                                 {&blob_len, "sc_security.certificate.public_key_blob_len"}});
        !s)
        return s.error();
    if (blob_type != kPublicKeyBlob)
        return Error{"sc_security.certificate.public_key_blob_type", "expected 0x0006"};
    auto blob = r.bytes(blob_len, "sc_security.certificate.public_key_blob");
    if (!blob) return blob.error();
    const ByteView signed_data = cert.first(r.position());
    uint16_t sig_type = 0, sig_len = 0;
    if (auto s = read_fields(r, {{&sig_type, "sc_security.certificate.signature_blob_type"},
                                 {&sig_len, "sc_security.certificate.signature_blob_len"}});
        !s)
        return s.error();
    if (sig_type != kSignatureBlob)
        return Error{"sc_security.certificate.signature_blob_type", "expected 0x0008"};
    auto signature = r.bytes(sig_len, "sc_security.certificate.signature_blob");
    if (!signature) return signature.error();
    auto key = read_rsa_blob(*blob);
    if (!key) return key.error();
    ServerCertificate out;
    out.kind = CertificateKind::proprietary;
    out.temporary = (version & kTemporaryBit) != 0;
    out.key = std::move(*key);
    const std::size_t sig_size = signature->size() >= kPadding ? signature->size() - kPadding : 0;
    out.signature_valid = verify_proprietary(signed_data, signature->first(sig_size));
    return out;
}

Result<ServerCertificate> read_x509_chain(ByteView cert, uint32_t version) {
    Reader r(cert);
    if (auto s = r.skip(4, "sc_security.certificate.version"); !s) return s.error();
    auto count = r.u32le("sc_security.certificate.num_cert_blobs");
    if (!count) return count.error();
    if (*count == 0 || *count > kMaxChain)
        return Error{"sc_security.certificate.num_cert_blobs", std::to_string(*count)};
    ServerCertificate out;
    out.kind = CertificateKind::x509;
    out.temporary = (version & kTemporaryBit) != 0;
    for (uint32_t i = 0; i < *count; ++i) {
        auto len = r.u32le("sc_security.certificate.cert_len");
        if (!len) return len.error();
        auto der = r.bytes(*len, "sc_security.certificate.cert");
        if (!der) return der.error();
        out.x509_chain.emplace_back(der->begin(), der->end());
    }
    const Bytes& leaf = out.x509_chain.back();
    const unsigned char* p = leaf.data();
    std::unique_ptr<X509, decltype(&X509_free)> x(d2i_X509(nullptr, &p, long(leaf.size())),
                                                  X509_free);
    EVP_PKEY* pkey = x ? X509_get0_pubkey(x.get()) : nullptr;
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (pkey && EVP_PKEY_get_bn_param(pkey, "n", &n) == 1 &&
        EVP_PKEY_get_bn_param(pkey, "e", &e) == 1) {
        out.key.bits = uint32_t(BN_num_bits(n));
        out.key.modulus.resize(std::size_t(BN_num_bytes(n)));
        BN_bn2lebinpad(n, out.key.modulus.data(), int(out.key.modulus.size()));
        out.key.exponent = uint32_t(BN_get_word(e));
    }
    BN_free(n);
    BN_free(e);
    return out;
}

}  // namespace

std::string encryption_methods_to_string(uint32_t methods) {
    if (methods == 0) return "NONE";
    std::string out;
    const std::pair<uint32_t, const char*> names[] = {{encryption_method::bits40, "40BIT"},
                                                      {encryption_method::bits56, "56BIT"},
                                                      {encryption_method::bits128, "128BIT"},
                                                      {encryption_method::fips, "FIPS"}};
    for (const auto& [bit, name] : names) {
        if (!(methods & bit)) continue;
        out += (out.empty() ? "" : "|") + std::string(name);
        methods &= ~bit;
    }
    if (methods) out += (out.empty() ? "" : "|") + hex32(methods);
    return out;
}

std::string to_string(EncryptionLevel level) {
    switch (level) {
        case EncryptionLevel::none: return "NONE";
        case EncryptionLevel::low: return "LOW";
        case EncryptionLevel::client_compatible: return "CLIENT_COMPATIBLE";
        case EncryptionLevel::high: return "HIGH";
        case EncryptionLevel::fips: return "FIPS";
    }
    return "UNKNOWN(" + hex32(uint32_t(level)) + ")";
}

Result<ServerSecurity> decode_server_security(const gcc::DataBlock& sc_security) {
    Reader r(sc_security.body);
    auto method = r.u32le("sc_security.encryption_method");
    if (!method) return method.error();
    auto level = r.u32le("sc_security.encryption_level");
    if (!level) return level.error();
    ServerSecurity out;
    out.method = *method;
    out.level = EncryptionLevel(*level);
    if (*method == encryption_method::none) return out;
    auto random_len = r.u32le("sc_security.server_random_len");
    if (!random_len) return random_len.error();
    auto cert_len = r.u32le("sc_security.server_cert_len");
    if (!cert_len) return cert_len.error();
    auto random = r.bytes(*random_len, "sc_security.server_random");
    if (!random) return random.error();
    out.server_random.assign(random->begin(), random->end());
    auto cert = r.bytes(*cert_len, "sc_security.server_certificate");
    if (!cert) return cert.error();
    if (cert->empty()) return out;
    Reader vr(*cert);
    auto version = vr.u32le("sc_security.certificate.version");
    if (!version) return version.error();
    const uint32_t chain = *version & ~kTemporaryBit;
    Result<ServerCertificate> parsed =
        chain == kCertChainVersion1   ? read_proprietary(*cert, *version)
        : chain == kCertChainVersion2 ? read_x509_chain(*cert, *version)
                                      : Result<ServerCertificate>(Error{
                                            "sc_security.certificate.version",
                                            "unknown certificate chain version " + hex32(chain)});
    if (!parsed) return parsed.error();
    out.certificate = std::move(*parsed);
    return out;
}

gcc::DataBlock tls_server_security() {
    gcc::DataBlock b{gcc::block::sc_security, {}};
    Writer w(b.body);
    w.u32le(encryption_method::none);
    w.u32le(uint32_t(EncryptionLevel::none));
    return b;
}

}  // namespace rdpbridge::rdp

#include "rdp/crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <stdexcept>

namespace rdpbridge::rdp::crypto {

namespace {

// A library context with the default and legacy providers, private to Standard RDP Security.
OSSL_LIB_CTX* legacy_context() {
    static OSSL_LIB_CTX* ctx = [] {
        OSSL_LIB_CTX* c = OSSL_LIB_CTX_new();
        if (!c || !OSSL_PROVIDER_load(c, "default") || !OSSL_PROVIDER_load(c, "legacy"))
            throw std::runtime_error(
                "OpenSSL legacy provider unavailable: RC4 for Standard RDP Security needs it "
                "(Debian: package libssl3 ships /usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so)");
        return c;
    }();
    return ctx;
}

enum class Md { md5, sha1, sha256 };

const EVP_MD* fetch_md(Md md) {
    // Fetched once per thread. SHA-256 is no legacy algorithm; the private context simply has
    // the default provider too.
    static thread_local const std::array<EVP_MD*, 3> cache{
        EVP_MD_fetch(legacy_context(), "MD5", nullptr),
        EVP_MD_fetch(legacy_context(), "SHA1", nullptr),
        EVP_MD_fetch(legacy_context(), "SHA256", nullptr),
    };
    return cache[std::size_t(md)];
}

template <std::size_t N>
std::array<uint8_t, N> digest(Md md, std::initializer_list<ByteView> parts) {
    std::array<uint8_t, N> out{};
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), fetch_md(md), nullptr);
    for (auto p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
    return out;
}

using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
Bn bn_le(ByteView b) {
    return Bn(BN_lebin2bn(b.data(), int(b.size()), nullptr), BN_free);
}

struct CipherState {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~CipherState() { EVP_CIPHER_CTX_free(ctx); }
};

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr parse_x509(ByteView der) {
    const unsigned char* p = der.data();
    return X509Ptr(d2i_X509(nullptr, &p, long(der.size())), X509_free);
}

}  // namespace

Md5 md5(std::initializer_list<ByteView> parts) {
    return digest<16>(Md::md5, parts);
}
Sha1 sha1(std::initializer_list<ByteView> parts) {
    return digest<20>(Md::sha1, parts);
}
Sha256 sha256(std::initializer_list<ByteView> parts) {
    return digest<32>(Md::sha256, parts);
}

Sha1 hmac_sha1(ByteView key, std::initializer_list<ByteView> parts) {
    // HMAC per RFC 2104 over SHA-1, built from the digest so that it shares our context.
    std::array<uint8_t, 64> k{};
    if (key.size() > k.size()) {
        auto h = sha1({key});
        std::copy(h.begin(), h.end(), k.begin());
    } else {
        std::copy(key.begin(), key.end(), k.begin());
    }
    std::array<uint8_t, 64> ipad, opad;
    for (std::size_t i = 0; i < 64; ++i) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5C;
    }
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    EVP_DigestInit_ex(ctx.get(), fetch_md(Md::sha1), nullptr);
    EVP_DigestUpdate(ctx.get(), ipad.data(), ipad.size());
    for (auto p : parts) EVP_DigestUpdate(ctx.get(), p.data(), p.size());
    Sha1 inner{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), inner.data(), &len);
    auto out = sha1({opad, inner});
    cleanse(k.data(), k.size());
    cleanse(ipad.data(), ipad.size());
    cleanse(opad.data(), opad.size());
    return out;
}

struct Rc4::State : CipherState {};
Rc4::Rc4() : s_(std::make_unique<State>()) {}
Rc4::~Rc4() = default;
Rc4::Rc4(Rc4&&) noexcept = default;
Rc4& Rc4::operator=(Rc4&&) noexcept = default;

void Rc4::reset(ByteView key) {
    static EVP_CIPHER* rc4 = EVP_CIPHER_fetch(legacy_context(), "RC4", nullptr);
    if (!rc4) throw std::runtime_error("RC4 not available from OpenSSL's legacy provider");
    EVP_CIPHER_CTX_reset(s_->ctx);
    EVP_EncryptInit_ex(s_->ctx, rc4, nullptr, nullptr, nullptr);
    EVP_CIPHER_CTX_set_key_length(s_->ctx, int(key.size()));
    EVP_EncryptInit_ex(s_->ctx, nullptr, nullptr, key.data(), nullptr);
}

void Rc4::apply(uint8_t* data, std::size_t size) {
    int out = 0;
    EVP_EncryptUpdate(s_->ctx, data, &out, data, int(size));
}

struct TripleDes::State : CipherState {};
TripleDes::TripleDes() : s_(std::make_unique<State>()) {}
TripleDes::~TripleDes() = default;
TripleDes::TripleDes(TripleDes&&) noexcept = default;
TripleDes& TripleDes::operator=(TripleDes&&) noexcept = default;

void TripleDes::reset(ByteView key24, ByteView iv8, bool encrypt) {
    static EVP_CIPHER* des3 = EVP_CIPHER_fetch(legacy_context(), "DES-EDE3-CBC", nullptr);
    EVP_CIPHER_CTX_reset(s_->ctx);
    EVP_CipherInit_ex(s_->ctx, des3, nullptr, key24.data(), iv8.data(), encrypt ? 1 : 0);
    EVP_CIPHER_CTX_set_padding(s_->ctx, 0);
}

void TripleDes::apply(uint8_t* data, std::size_t size) {
    int out = 0;
    EVP_CipherUpdate(s_->ctx, data, &out, data, int(size));
}

Bytes rsa_public_le(ByteView message_le, ByteView modulus_le, ByteView exponent_le) {
    Bn m = bn_le(message_le), n = bn_le(modulus_le), e = bn_le(exponent_le);
    Bn r(BN_new(), BN_free);
    std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
    BN_mod_exp(r.get(), m.get(), e.get(), n.get(), ctx.get());
    Bytes out(modulus_le.size());
    BN_bn2lebinpad(r.get(), out.data(), int(out.size()));
    return out;
}

Bytes rsa_public_le(ByteView message_le, ByteView modulus_le, uint32_t exponent) {
    uint8_t e[4];
    store_u32le(e, exponent);
    return rsa_public_le(message_le, modulus_le, ByteView(e, 4));
}

std::optional<RsaKeyLe> x509_rsa_key(ByteView der) {
    const X509Ptr cert = parse_x509(der);
    if (!cert) return std::nullopt;
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    if (!key || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return std::nullopt;
    BIGNUM* n = nullptr;
    BIGNUM* e = nullptr;
    if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) ||
        !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e)) {
        BN_free(n);
        BN_free(e);
        return std::nullopt;
    }
    RsaKeyLe out;
    out.modulus.resize(std::size_t(BN_num_bytes(n)));
    BN_bn2lebinpad(n, out.modulus.data(), int(out.modulus.size()));
    out.exponent = uint32_t(BN_get_word(e));
    out.bits = BN_num_bits(n);
    BN_free(n);
    BN_free(e);
    return out;
}

std::optional<Bytes> x509_subject_public_key(ByteView der) {
    const X509Ptr cert = parse_x509(der);
    if (!cert) return std::nullopt;
    // OpenSSL keeps the BIT STRING's unused-bits count apart from its data; keys are whole
    // octets, so the data is the key.
    const ASN1_BIT_STRING* key = X509_get0_pubkey_bitstr(cert.get());
    if (!key) return std::nullopt;
    const unsigned char* data = ASN1_STRING_get0_data(key);
    return Bytes(data, data + ASN1_STRING_length(key));
}

void cleanse(void* p, std::size_t n) {
    OPENSSL_cleanse(p, n);
}

std::optional<std::string> legacy_provider_problem() {
    OSSL_LIB_CTX* ctx = nullptr;
    try {
        ctx = legacy_context();
    } catch (const std::exception& e) {
        return e.what();
    }
    for (const char* name : {"RC4", "DES-EDE3-CBC"}) {
        EVP_CIPHER* cipher = EVP_CIPHER_fetch(ctx, name, nullptr);
        if (cipher == nullptr)
            return std::string(name) + " is not available from OpenSSL's legacy provider";
        EVP_CIPHER_free(cipher);
    }
    for (const char* name : {"MD5", "SHA1", "SHA256"}) {
        EVP_MD* md = EVP_MD_fetch(ctx, name, nullptr);
        if (md == nullptr)
            return std::string(name) + " is not available from OpenSSL's legacy provider's context";
        EVP_MD_free(md);
    }
    return std::nullopt;
}

}  // namespace rdpbridge::rdp::crypto

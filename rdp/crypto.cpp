#include "rdp/crypto.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <openssl/x509.h>

#include <limits>

namespace rdpbridge::rdp::crypto {

namespace {

constexpr const char* kLegacyFix =
    "install or enable OpenSSL's legacy provider (Debian: libssl3 ships "
    "/usr/lib/x86_64-linux-gnu/ossl-modules/legacy.so; OPENSSL_MODULES, if set, must name the "
    "directory holding legacy.so)";

// A library context with the default and legacy providers, private to Standard RDP Security,
// and the algorithms fetched from it. Loaded once for the process: a provider that did not load
// will not load on a second try, and fetched algorithms may be shared between threads.
struct Algorithms {
    OSSL_LIB_CTX* ctx = nullptr;
    EVP_MD* md5 = nullptr;
    EVP_MD* sha1 = nullptr;
    EVP_MD* sha256 = nullptr;
    EVP_CIPHER* rc4 = nullptr;
    EVP_CIPHER* des3 = nullptr;
    std::optional<Error> error;  // why the context or one of the algorithms is missing
};

Algorithms load() {
    Algorithms a;
    a.ctx = OSSL_LIB_CTX_new();
    if (!a.ctx || !OSSL_PROVIDER_load(a.ctx, "default") || !OSSL_PROVIDER_load(a.ctx, "legacy")) {
        a.error = Error{"crypto.legacy_provider",
                        std::string("OpenSSL legacy provider unavailable: RC4 for Standard RDP "
                                    "Security needs it; ") +
                            kLegacyFix};
        return a;
    }
    const auto missing = [&a](const char* name) {
        if (!a.error)
            a.error = Error{"crypto.legacy_provider", std::string(name) +
                                                          " is not available from OpenSSL's "
                                                          "legacy provider's context; " +
                                                          kLegacyFix};
    };
    // SHA-256 is no legacy algorithm; the private context simply has the default provider too.
    if (!(a.md5 = EVP_MD_fetch(a.ctx, "MD5", nullptr))) missing("MD5");
    if (!(a.sha1 = EVP_MD_fetch(a.ctx, "SHA1", nullptr))) missing("SHA1");
    if (!(a.sha256 = EVP_MD_fetch(a.ctx, "SHA256", nullptr))) missing("SHA256");
    if (!(a.rc4 = EVP_CIPHER_fetch(a.ctx, "RC4", nullptr))) missing("RC4");
    if (!(a.des3 = EVP_CIPHER_fetch(a.ctx, "DES-EDE3-CBC", nullptr))) missing("DES-EDE3-CBC");
    return a;
}

const Algorithms& algorithms() {
    static const Algorithms a = load();
    return a;
}

// The algorithm `pick` selects, or why it is missing.
template <class T>
Result<T*> fetched(T* Algorithms::*pick) {
    const Algorithms& a = algorithms();
    if (a.error) return *a.error;
    return a.*pick;
}

Error openssl_failed(const char* field, const char* call) {
    return Error{field, std::string(call) + " failed inside OpenSSL"};
}

// The digest of `prefix` followed by `parts`: HMAC's inner hash needs its pad in front.
template <std::size_t N>
Result<std::array<uint8_t, N>> digest(EVP_MD* Algorithms::*md, const char* field,
                                      std::initializer_list<ByteView> parts, ByteView prefix = {}) {
    auto type = fetched(md);
    if (!type) return type.error();
    std::array<uint8_t, N> out{};
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || !EVP_DigestInit_ex(ctx.get(), *type, nullptr))
        return openssl_failed(field, "EVP_DigestInit_ex");
    if (!EVP_DigestUpdate(ctx.get(), prefix.data(), prefix.size()))
        return openssl_failed(field, "EVP_DigestUpdate");
    for (auto p : parts)
        if (!EVP_DigestUpdate(ctx.get(), p.data(), p.size()))
            return openssl_failed(field, "EVP_DigestUpdate");
    unsigned int len = 0;
    if (!EVP_DigestFinal_ex(ctx.get(), out.data(), &len) || len != N)
        return openssl_failed(field, "EVP_DigestFinal_ex");
    return out;
}

using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
Bn bn_le(ByteView b) {
    return Bn(BN_lebin2bn(b.data(), int(b.size()), nullptr), BN_free);
}

struct CipherState {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    bool keyed = false;
    ~CipherState() { EVP_CIPHER_CTX_free(ctx); }

    Status update(const char* field, uint8_t* data, std::size_t size) {
        if (!keyed) return Error{field, "no key set"};
        if (size > std::size_t(std::numeric_limits<int>::max()))
            return Error{field, std::to_string(size) + " bytes at once, too many for OpenSSL"};
        int out = 0;
        if (!EVP_CipherUpdate(ctx, data, &out, data, int(size)) || std::size_t(out) != size)
            return openssl_failed(field, "EVP_CipherUpdate");
        return Ok{};
    }
};

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

X509Ptr parse_x509(ByteView der) {
    const unsigned char* p = der.data();
    return X509Ptr(d2i_X509(nullptr, &p, long(der.size())), X509_free);
}

}  // namespace

Result<Md5> md5(std::initializer_list<ByteView> parts) {
    return digest<16>(&Algorithms::md5, "crypto.md5", parts);
}
Result<Sha1> sha1(std::initializer_list<ByteView> parts) {
    return digest<20>(&Algorithms::sha1, "crypto.sha1", parts);
}
Result<Sha256> sha256(std::initializer_list<ByteView> parts) {
    return digest<32>(&Algorithms::sha256, "crypto.sha256", parts);
}

Result<Sha1> hmac_sha1(ByteView key, std::initializer_list<ByteView> parts) {
    // HMAC per RFC 2104 over SHA-1, built from the digest so that it shares our context.
    std::array<uint8_t, 64> k{};
    if (key.size() > k.size()) {
        auto h = sha1({key});
        if (!h) return h.error();
        std::copy(h->begin(), h->end(), k.begin());
    } else {
        std::copy(key.begin(), key.end(), k.begin());
    }
    std::array<uint8_t, 64> ipad, opad;
    for (std::size_t i = 0; i < 64; ++i) {
        ipad[i] = k[i] ^ 0x36;
        opad[i] = k[i] ^ 0x5C;
    }
    auto inner = digest<20>(&Algorithms::sha1, "crypto.hmac_sha1", parts, ipad);
    Result<Sha1> out = inner ? sha1({opad, *inner}) : inner;
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

Status Rc4::reset(ByteView key) {
    s_->keyed = false;
    auto rc4 = fetched(&Algorithms::rc4);
    if (!rc4) return rc4.error();
    if (!s_->ctx || !EVP_CIPHER_CTX_reset(s_->ctx) ||
        !EVP_EncryptInit_ex(s_->ctx, *rc4, nullptr, nullptr, nullptr) ||
        !EVP_CIPHER_CTX_set_key_length(s_->ctx, int(key.size())) ||
        !EVP_EncryptInit_ex(s_->ctx, nullptr, nullptr, key.data(), nullptr))
        return openssl_failed("crypto.rc4", "setting the RC4 key");
    s_->keyed = true;
    return Ok{};
}

Status Rc4::apply(uint8_t* data, std::size_t size) {
    return s_->update("crypto.rc4", data, size);
}

struct TripleDes::State : CipherState {};
TripleDes::TripleDes() : s_(std::make_unique<State>()) {}
TripleDes::~TripleDes() = default;
TripleDes::TripleDes(TripleDes&&) noexcept = default;
TripleDes& TripleDes::operator=(TripleDes&&) noexcept = default;

Status TripleDes::reset(ByteView key24, ByteView iv8, bool encrypt) {
    s_->keyed = false;
    auto des3 = fetched(&Algorithms::des3);
    if (!des3) return des3.error();
    if (key24.size() != 24 || iv8.size() != 8)
        return Error{"crypto.3des", "key of " + std::to_string(key24.size()) + " and IV of " +
                                        std::to_string(iv8.size()) + " bytes, must be 24 and 8"};
    if (!s_->ctx || !EVP_CIPHER_CTX_reset(s_->ctx) ||
        !EVP_CipherInit_ex(s_->ctx, *des3, nullptr, key24.data(), iv8.data(), encrypt ? 1 : 0) ||
        !EVP_CIPHER_CTX_set_padding(s_->ctx, 0))
        return openssl_failed("crypto.3des", "setting the 3DES key");
    s_->keyed = true;
    return Ok{};
}

Status TripleDes::apply(uint8_t* data, std::size_t size) {
    if (size % 8 != 0)
        return Error{"crypto.3des", std::to_string(size) + " bytes, not a multiple of 8"};
    return s_->update("crypto.3des", data, size);
}

Result<Bytes> rsa_public_le(ByteView message_le, ByteView modulus_le, ByteView exponent_le) {
    Bn m = bn_le(message_le), n = bn_le(modulus_le), e = bn_le(exponent_le);
    if (n && BN_is_zero(n.get())) return Error{"crypto.rsa.modulus", "zero"};
    Bn r(BN_new(), BN_free);
    std::unique_ptr<BN_CTX, decltype(&BN_CTX_free)> ctx(BN_CTX_new(), BN_CTX_free);
    if (!m || !n || !e || !r || !ctx || !BN_mod_exp(r.get(), m.get(), e.get(), n.get(), ctx.get()))
        return openssl_failed("crypto.rsa", "BN_mod_exp");
    Bytes out(modulus_le.size());
    if (BN_bn2lebinpad(r.get(), out.data(), int(out.size())) < 0)
        return openssl_failed("crypto.rsa", "BN_bn2lebinpad");
    return out;
}

Result<Bytes> rsa_public_le(ByteView message_le, ByteView modulus_le, uint32_t exponent) {
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
    const Algorithms& a = algorithms();
    if (a.error) return a.error->reason;
    return std::nullopt;
}

}  // namespace rdpbridge::rdp::crypto

#include "bench/record_protection.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

#include <array>
#include <cstring>
#include <stdexcept>

namespace rdpbridge::bench {

namespace {

constexpr uint8_t kApplicationData = 0x17;
constexpr std::size_t kTagSize = 16;
constexpr std::size_t kSha1Size = 20;
constexpr std::size_t kAesBlock = 16;
constexpr std::size_t kDesBlock = 8;
constexpr std::size_t kRdpMacSize = 8;

struct CipherFree {
    void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct CipherCtxFree {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct MdFree {
    void operator()(EVP_MD* m) const { EVP_MD_free(m); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Cipher = std::unique_ptr<EVP_CIPHER, CipherFree>;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;
using MdOwned = std::unique_ptr<EVP_MD, MdFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

[[noreturn]] void fail(const std::string& what) {
    throw std::runtime_error("crypto bound: " + what);
}

Cipher fetch(const char* name) {
    Cipher c(EVP_CIPHER_fetch(nullptr, name, nullptr));
    if (!c) fail(std::string("OpenSSL has no ") + name);
    return c;
}

CipherCtx new_ctx() {
    CipherCtx ctx(EVP_CIPHER_CTX_new());
    if (!ctx) fail("EVP_CIPHER_CTX_new");
    return ctx;
}

// The key bytes do not change the cost; any fixed value will do.
std::vector<uint8_t> fixed_bytes(std::size_t n, uint8_t seed) {
    std::vector<uint8_t> b(n);
    for (std::size_t i = 0; i < n; ++i) b[i] = uint8_t(seed + 31 * i);
    return b;
}

void put_u64be(uint8_t* p, uint64_t v) {
    for (int i = 7; i >= 0; --i, v >>= 8) p[i] = uint8_t(v);
}

// TLS 1.3 (and 1.2) AEAD: nonce = static IV xor sequence number; TLS 1.3 appends the inner
// content type to the plaintext and authenticates the record header.
class Aead final : public RecordProtection {
  public:
    Aead(const char* algorithm, bool tls13)
        : algorithm_(algorithm), tls13_(tls13), cipher_(fetch(algorithm)) {
        const auto key = fixed_bytes(std::size_t(EVP_CIPHER_get_key_length(cipher_.get())), 1);
        iv_ = fixed_bytes(12, 2);
        seal_ = new_ctx();
        open_ = new_ctx();
        if (EVP_EncryptInit_ex2(seal_.get(), cipher_.get(), key.data(), nullptr, nullptr) != 1 ||
            EVP_DecryptInit_ex2(open_.get(), cipher_.get(), key.data(), nullptr, nullptr) != 1)
            fail(std::string("cannot key ") + algorithm);
    }

    void seal(std::span<const uint8_t> plain, Buffer& sealed) override {
        const std::size_t inner = plain.size() + (tls13_ ? 1 : 0);
        sealed.resize(inner + kTagSize);
        const auto aad = additional_data(seal_seq_, tls13_ ? inner + kTagSize : plain.size());
        int n = 0;
        bool ok =
            EVP_EncryptInit_ex2(seal_.get(), nullptr, nullptr, nonce(seal_seq_++).data(),
                                nullptr) == 1 &&
            EVP_EncryptUpdate(seal_.get(), nullptr, &n, aad.data(), aad_size()) == 1 &&
            EVP_EncryptUpdate(seal_.get(), sealed.data(), &n, plain.data(), int(plain.size())) == 1;
        if (ok && tls13_) {
            const uint8_t type = kApplicationData;
            ok = EVP_EncryptUpdate(seal_.get(), sealed.data() + plain.size(), &n, &type, 1) == 1;
        }
        ok = ok && EVP_EncryptFinal_ex(seal_.get(), sealed.data() + inner, &n) == 1 &&
             EVP_CIPHER_CTX_ctrl(seal_.get(), EVP_CTRL_AEAD_GET_TAG, int(kTagSize),
                                 sealed.data() + inner) == 1;
        if (!ok) fail(algorithm_ + " seal");
    }

    void open(std::span<const uint8_t> sealed, Buffer& plain) override {
        if (sealed.size() < kTagSize + (tls13_ ? 1 : 0)) fail("record too short");
        const std::size_t inner = sealed.size() - kTagSize;
        plain.resize(inner);
        const auto aad = additional_data(open_seq_, tls13_ ? sealed.size() : inner);
        int n = 0;
        uint8_t tag[kTagSize];
        std::memcpy(tag, sealed.data() + inner, kTagSize);
        const bool ok =
            EVP_DecryptInit_ex2(open_.get(), nullptr, nullptr, nonce(open_seq_++).data(),
                                nullptr) == 1 &&
            EVP_DecryptUpdate(open_.get(), nullptr, &n, aad.data(), aad_size()) == 1 &&
            EVP_DecryptUpdate(open_.get(), plain.data(), &n, sealed.data(), int(inner)) == 1 &&
            EVP_CIPHER_CTX_ctrl(open_.get(), EVP_CTRL_AEAD_SET_TAG, int(kTagSize), tag) == 1 &&
            EVP_DecryptFinal_ex(open_.get(), plain.data() + inner, &n) == 1;
        if (!ok) fail(algorithm_ + " record does not authenticate");
        if (tls13_) plain.pop_back();  // inner content type
    }

    void rewind() override { seal_seq_ = open_seq_ = 0; }
    std::string name() const override { return algorithm_; }

  private:
    std::array<uint8_t, 12> nonce(uint64_t seq) const {
        std::array<uint8_t, 12> n;
        std::copy(iv_.begin(), iv_.end(), n.begin());
        uint8_t s[8];
        put_u64be(s, seq);
        for (int i = 0; i < 8; ++i) n[4 + i] ^= s[i];
        return n;
    }
    // TLS 1.3: the record header; TLS 1.2: sequence number, type, version, length.
    std::array<uint8_t, 13> additional_data(uint64_t seq, std::size_t length) const {
        std::array<uint8_t, 13> a{};
        if (tls13_) {
            a = {kApplicationData, 0x03, 0x03, uint8_t(length >> 8), uint8_t(length)};
        } else {
            put_u64be(a.data(), seq);
            a[8] = kApplicationData;
            a[9] = 0x03;
            a[10] = 0x03;
            a[11] = uint8_t(length >> 8);
            a[12] = uint8_t(length);
        }
        return a;
    }
    int aad_size() const { return tls13_ ? 5 : 13; }

    std::string algorithm_;
    bool tls13_;
    Cipher cipher_;
    std::vector<uint8_t> iv_;
    CipherCtx seal_, open_;
    uint64_t seal_seq_ = 0, open_seq_ = 0;
};

// TLS 1.0 AES-CBC + HMAC-SHA1: MAC over sequence number, header and plaintext, then padding,
// then CBC encryption whose IV is the previous record's last ciphertext block. libssl seals with
// OpenSSL's stitched AES-CBC-HMAC-SHA1 cipher when the CPU has one, which is faster than the
// two passes; the bound does the same (checked against the two-pass opener at construction).
class CbcSha1 final : public RecordProtection {
  public:
    explicit CbcSha1(int aes_bits) : bits_(aes_bits) {
        const std::string cbc = "AES-" + std::to_string(aes_bits) + "-CBC";
        cipher_ = fetch(cbc.c_str());
        key_ = fixed_bytes(std::size_t(aes_bits / 8), 3);
        mac_key_ = fixed_bytes(kSha1Size, 4);
        iv_ = fixed_bytes(kAesBlock, 5);
        seal_ = new_ctx();
        open_ = new_ctx();
        EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        mac_.reset(EVP_MAC_CTX_new(hmac));
        EVP_MAC_free(hmac);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA1"), 0),
            OSSL_PARAM_construct_end()};
        if (!mac_ || EVP_MAC_init(mac_.get(), mac_key_.data(), mac_key_.size(), params) != 1)
            fail("HMAC-SHA1");
        const std::string stitched_name = cbc + "-HMAC-SHA1";
        stitched_.reset(EVP_CIPHER_fetch(nullptr, stitched_name.c_str(), nullptr));
        rewind();
        if (stitched_ && !stitched_works()) stitched_.reset();
        rewind();
    }

    void seal(std::span<const uint8_t> plain, Buffer& sealed) override {
        if (stitched_) return seal_stitched(plain, sealed);
        uint8_t mac[kSha1Size];
        compute_mac(seal_seq_++, plain, mac);
        const std::size_t body = plain.size() + kSha1Size;
        const std::size_t padded = (body / kAesBlock + 1) * kAesBlock;
        sealed.resize(padded);
        std::memcpy(sealed.data(), plain.data(), plain.size());
        std::memcpy(sealed.data() + plain.size(), mac, kSha1Size);
        std::memset(sealed.data() + body, int(padded - body - 1), padded - body);
        if (EVP_Cipher(seal_.get(), sealed.data(), sealed.data(), unsigned(padded)) <= 0)
            fail("AES-CBC seal");
    }

    void open(std::span<const uint8_t> sealed, Buffer& plain) override {
        if (sealed.empty() || sealed.size() % kAesBlock) fail("CBC record not block-aligned");
        plain.resize(sealed.size());
        if (EVP_Cipher(open_.get(), plain.data(), sealed.data(), unsigned(sealed.size())) <= 0)
            fail("AES-CBC open");
        const std::size_t pad = plain.back() + 1u;
        if (pad + kSha1Size > plain.size()) fail("CBC padding");
        const std::size_t length = plain.size() - pad - kSha1Size;
        uint8_t mac[kSha1Size];
        compute_mac(open_seq_++, {plain.data(), length}, mac);
        if (CRYPTO_memcmp(mac, plain.data() + length, kSha1Size) != 0)
            fail("TLS 1.0 record does not authenticate");
        plain.resize(length);
    }

    void rewind() override {
        seal_seq_ = open_seq_ = 0;
        const EVP_CIPHER* sealer = stitched_ ? stitched_.get() : cipher_.get();
        if (EVP_CipherInit_ex2(seal_.get(), sealer, key_.data(), iv_.data(), 1, nullptr) != 1 ||
            EVP_CipherInit_ex2(open_.get(), cipher_.get(), key_.data(), iv_.data(), 0, nullptr) !=
                1)
            fail("AES-CBC init");
        EVP_CIPHER_CTX_set_padding(open_.get(), 0);
        if (stitched_ && EVP_CIPHER_CTX_ctrl(seal_.get(), EVP_CTRL_AEAD_SET_MAC_KEY,
                                             int(mac_key_.size()), mac_key_.data()) <= 0)
            stitched_.reset();
        if (!stitched_) EVP_CIPHER_CTX_set_padding(seal_.get(), 0);
    }

    std::string name() const override {
        return "AES-" + std::to_string(bits_) + "-CBC" +
               (stitched_ ? "-HMAC-SHA1 (stitched) seal, two-pass open" : " + HMAC-SHA1");
    }

  private:
    std::array<uint8_t, 13> header(uint64_t seq, std::size_t length) const {
        std::array<uint8_t, 13> h{};
        put_u64be(h.data(), seq);
        h[8] = kApplicationData;
        h[9] = 0x03;  // TLS 1.0 = 3.1
        h[10] = 0x01;
        h[11] = uint8_t(length >> 8);
        h[12] = uint8_t(length);
        return h;
    }

    void compute_mac(uint64_t seq, std::span<const uint8_t> plain, uint8_t* out) {
        const auto h = header(seq, plain.size());
        std::size_t n = 0;
        // Re-initialising with no key reuses the prepared key schedule, as libssl's copy does.
        if (EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) != 1 ||
            EVP_MAC_update(mac_.get(), h.data(), h.size()) != 1 ||
            EVP_MAC_update(mac_.get(), plain.data(), plain.size()) != 1 ||
            EVP_MAC_final(mac_.get(), out, &n, kSha1Size) != 1)
            fail("HMAC-SHA1");
    }

    void seal_stitched(std::span<const uint8_t> plain, Buffer& sealed) {
        auto h = header(seal_seq_++, plain.size());
        const int extra =
            EVP_CIPHER_CTX_ctrl(seal_.get(), EVP_CTRL_AEAD_TLS1_AAD, int(h.size()), h.data());
        if (extra <= 0) fail("stitched AAD");
        sealed.resize(plain.size() + std::size_t(extra));
        std::memcpy(sealed.data(), plain.data(), plain.size());
        if (EVP_Cipher(seal_.get(), sealed.data(), sealed.data(), unsigned(sealed.size())) <= 0)
            fail("stitched seal");
    }

    bool stitched_works() {
        try {
            const auto sample = fixed_bytes(1000, 6);
            Buffer sealed, plain;
            for (int i = 0; i < 3; ++i) {
                seal(sample, sealed);
                open(sealed, plain);
                if (plain != sample) return false;
            }
            return true;
        } catch (const std::exception&) {
            return false;
        }
    }

    int bits_;
    Cipher cipher_, stitched_;
    std::vector<uint8_t> key_, mac_key_, iv_;
    CipherCtx seal_, open_;
    MacCtx mac_;
    uint64_t seal_seq_ = 0, open_seq_ = 0;
};

// Standard RDP Security ([MS-RDPBCGR] 5.3.6): no records, one protection per PDU. RC4 128-bit
// with the MAC 5.3.6.1 defines (SHA-1 over key, pad and data, then MD5 over key, pad and that),
// the first 8 bytes of which precede the ciphertext; RC4's keystream runs on across PDUs.
// RC4 lives in OpenSSL 3's legacy provider, loaded here into a library context of its own, as
// rdp/ does.
class RdpRc4 final : public RecordProtection {
  public:
    RdpRc4() {
        static OSSL_LIB_CTX* legacy = [] {
            OSSL_LIB_CTX* ctx = OSSL_LIB_CTX_new();
            if (!ctx || !OSSL_PROVIDER_load(ctx, "legacy") || !OSSL_PROVIDER_load(ctx, "default"))
                fail("OpenSSL's legacy provider (RC4) does not load");
            return ctx;
        }();
        rc4_.reset(EVP_CIPHER_fetch(legacy, "RC4", nullptr));
        sha1_.reset(EVP_MD_fetch(nullptr, "SHA1", nullptr));
        md5_.reset(EVP_MD_fetch(nullptr, "MD5", nullptr));
        digest_.reset(EVP_MD_CTX_new());
        if (!rc4_ || !sha1_ || !md5_ || !digest_) fail("RC4, SHA-1 or MD5 unavailable");
        key_ = fixed_bytes(16, 7);
        mac_key_ = fixed_bytes(16, 8);
        seal_ = new_ctx();
        open_ = new_ctx();
        rewind();
    }

    void seal(std::span<const uint8_t> plain, Buffer& sealed) override {
        sealed.resize(kRdpMacSize + plain.size());
        mac(plain, sealed.data());
        apply(seal_.get(), plain.data(), sealed.data() + kRdpMacSize, plain.size());
    }

    void open(std::span<const uint8_t> sealed, Buffer& plain) override {
        if (sealed.size() < kRdpMacSize) fail("RDP PDU shorter than its MAC");
        plain.resize(sealed.size() - kRdpMacSize);
        apply(open_.get(), sealed.data() + kRdpMacSize, plain.data(), plain.size());
        uint8_t expected[kRdpMacSize];
        mac(plain, expected);
        if (CRYPTO_memcmp(expected, sealed.data(), kRdpMacSize) != 0)
            fail("RDP PDU MAC does not verify");
    }

    void rewind() override {
        if (EVP_CipherInit_ex2(seal_.get(), rc4_.get(), key_.data(), nullptr, 1, nullptr) != 1 ||
            EVP_CipherInit_ex2(open_.get(), rc4_.get(), key_.data(), nullptr, 0, nullptr) != 1)
            fail("RC4 init");
    }

    std::string name() const override { return "RC4-128 + MD5(SHA-1) MAC"; }

  private:
    static void apply(EVP_CIPHER_CTX* ctx, const uint8_t* in, uint8_t* out, std::size_t n) {
        int written = 0;
        if (EVP_CipherUpdate(ctx, out, &written, in, int(n)) != 1) fail("RC4");
    }

    void mac(std::span<const uint8_t> data, uint8_t* out) {
        static const std::array<uint8_t, 40> pad1 = filled<40>(0x36);
        static const std::array<uint8_t, 48> pad2 = filled<48>(0x5c);
        uint8_t length[4];
        for (int i = 0; i < 4; ++i) length[i] = uint8_t(data.size() >> (8 * i));
        uint8_t sha[kSha1Size], md5[16];
        EVP_MD_CTX* d = digest_.get();
        const bool ok = EVP_DigestInit_ex2(d, sha1_.get(), nullptr) == 1 &&
                        EVP_DigestUpdate(d, mac_key_.data(), mac_key_.size()) == 1 &&
                        EVP_DigestUpdate(d, pad1.data(), pad1.size()) == 1 &&
                        EVP_DigestUpdate(d, length, sizeof length) == 1 &&
                        EVP_DigestUpdate(d, data.data(), data.size()) == 1 &&
                        EVP_DigestFinal_ex(d, sha, nullptr) == 1 &&
                        EVP_DigestInit_ex2(d, md5_.get(), nullptr) == 1 &&
                        EVP_DigestUpdate(d, mac_key_.data(), mac_key_.size()) == 1 &&
                        EVP_DigestUpdate(d, pad2.data(), pad2.size()) == 1 &&
                        EVP_DigestUpdate(d, sha, sizeof sha) == 1 &&
                        EVP_DigestFinal_ex(d, md5, nullptr) == 1;
        if (!ok) fail("RDP MAC");
        std::memcpy(out, md5, kRdpMacSize);
    }

    template <std::size_t N>
    static std::array<uint8_t, N> filled(uint8_t v) {
        std::array<uint8_t, N> a;
        a.fill(v);
        return a;
    }

    Cipher rc4_;
    MdOwned sha1_, md5_;
    MdCtx digest_;
    std::vector<uint8_t> key_, mac_key_;
    CipherCtx seal_, open_;
};

// Standard RDP Security at FIPS level (5.3.6.2): the first 8 bytes of HMAC-SHA1 over the data
// and the PDU count, then 3DES-CBC over the data padded to 8 bytes, the CBC chain running on
// across PDUs. The padding length travels in the FIPS header; here in the byte after the MAC.
class RdpFips final : public RecordProtection {
  public:
    RdpFips()
        : cipher_(fetch("DES-EDE3-CBC")),
          key_(fixed_bytes(24, 9)),
          iv_(fixed_bytes(8, 10)),
          seal_(new_ctx()),
          open_(new_ctx()) {
        EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        mac_.reset(EVP_MAC_CTX_new(hmac));
        EVP_MAC_free(hmac);
        const auto hmac_key = fixed_bytes(kSha1Size, 11);
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA1"), 0),
            OSSL_PARAM_construct_end()};
        if (!mac_ || EVP_MAC_init(mac_.get(), hmac_key.data(), hmac_key.size(), params) != 1)
            fail("HMAC-SHA1");
        rewind();
    }

    void seal(std::span<const uint8_t> plain, Buffer& sealed) override {
        const std::size_t padding = (kDesBlock - plain.size() % kDesBlock) % kDesBlock;
        const std::size_t head = kRdpMacSize + 1;
        sealed.resize(head + plain.size() + padding);
        mac(seal_count_++, plain, sealed.data());
        sealed[kRdpMacSize] = uint8_t(padding);
        std::memcpy(sealed.data() + head, plain.data(), plain.size());
        std::memset(sealed.data() + head + plain.size(), 0, padding);
        if (EVP_Cipher(seal_.get(), sealed.data() + head, sealed.data() + head,
                       unsigned(plain.size() + padding)) <= 0)
            fail("3DES seal");
    }

    void open(std::span<const uint8_t> sealed, Buffer& plain) override {
        const std::size_t head = kRdpMacSize + 1;
        if (sealed.size() < head || (sealed.size() - head) % kDesBlock) fail("FIPS PDU size");
        const std::size_t padding = sealed[kRdpMacSize];
        plain.resize(sealed.size() - head);
        if (padding > plain.size() || EVP_Cipher(open_.get(), plain.data(), sealed.data() + head,
                                                 unsigned(plain.size())) <= 0)
            fail("3DES open");
        plain.resize(plain.size() - padding);
        uint8_t expected[kRdpMacSize];
        mac(open_count_++, plain, expected);
        if (CRYPTO_memcmp(expected, sealed.data(), kRdpMacSize) != 0)
            fail("FIPS PDU MAC does not verify");
    }

    void rewind() override {
        seal_count_ = open_count_ = 0;
        if (EVP_CipherInit_ex2(seal_.get(), cipher_.get(), key_.data(), iv_.data(), 1, nullptr) !=
                1 ||
            EVP_CipherInit_ex2(open_.get(), cipher_.get(), key_.data(), iv_.data(), 0, nullptr) !=
                1)
            fail("3DES init");
        EVP_CIPHER_CTX_set_padding(seal_.get(), 0);
        EVP_CIPHER_CTX_set_padding(open_.get(), 0);
    }

    std::string name() const override { return "3DES-CBC + HMAC-SHA1 (FIPS)"; }

  private:
    void mac(uint32_t count, std::span<const uint8_t> data, uint8_t* out) {
        uint8_t c[4];
        for (int i = 0; i < 4; ++i) c[i] = uint8_t(count >> (8 * i));
        uint8_t full[kSha1Size];
        std::size_t n = 0;
        if (EVP_MAC_init(mac_.get(), nullptr, 0, nullptr) != 1 ||
            EVP_MAC_update(mac_.get(), data.data(), data.size()) != 1 ||
            EVP_MAC_update(mac_.get(), c, sizeof c) != 1 ||
            EVP_MAC_final(mac_.get(), full, &n, sizeof full) != 1)
            fail("HMAC-SHA1");
        std::memcpy(out, full, kRdpMacSize);
    }

    Cipher cipher_;
    std::vector<uint8_t> key_, iv_;
    CipherCtx seal_, open_;
    MacCtx mac_;
    uint32_t seal_count_ = 0, open_count_ = 0;
};

bool contains(const std::string& s, const char* part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

std::unique_ptr<RecordProtection> make_record_protection(const Suite& suite) {
    const std::string& c = suite.cipher;
    if (suite.version == kRdpSecurity) {
        if (c == kRdpRc4_128) return std::make_unique<RdpRc4>();
        if (c == kRdpFips) return std::make_unique<RdpFips>();
        fail("no model of Standard RDP Security " + c);
    }
    const bool tls13 = suite.version == "TLSv1.3";
    if (contains(c, "CHACHA20")) return std::make_unique<Aead>("ChaCha20-Poly1305", tls13);
    if (contains(c, "GCM")) {
        const bool aes256 = contains(c, "AES_256") || contains(c, "AES256");
        return std::make_unique<Aead>(aes256 ? "AES-256-GCM" : "AES-128-GCM", tls13);
    }
    if (contains(c, "AES") && c.size() >= 4 && c.compare(c.size() - 4, 4, "-SHA") == 0) {
        if (suite.version != "TLSv1")
            fail("only TLS 1.0 is modelled for CBC suites, not " + suite.version);
        return std::make_unique<CbcSha1>(contains(c, "AES256") ? 256 : 128);
    }
    fail("no model of record protection for " + suite.version + " " + c);
}

}  // namespace rdpbridge::bench

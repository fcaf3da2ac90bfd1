// SC_SECURITY decoding ([MS-RDPBCGR] 2.2.1.4.3, 5.3.3) on captured Connect Responses and on an
// X.509 chain built here from OpenSSL-generated certificates; malformed and truncated blocks
// rejected with the field named. Also the small codecs a Standard RDP Security bridge uses on
// every PDU: fast-path framing, MCS Send Data, the Disconnect Provider Ultimatum reason,
// licensing message names and the auto-reconnect cookie filter.
#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "rdp/fastpath.hpp"
#include "rdp/licensing.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/security_header.hpp"
#include "rdp/server_security.hpp"
#include "rdp/session_info.hpp"
#include "rdp/tpkt.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::expect_truncations_rejected;
using rdpbridge::test::fixture;
using json = nlohmann::json;

namespace {

gcc::DataBlock sc_security_of(const std::string& connect_response) {
    const Bytes frame = fixture(connect_response);
    auto payload = unwrap_x224_data(frame);
    EXPECT_TRUE(payload) << connect_response;
    if (!payload) return {};
    auto cr = mcs::decode_connect_response(*payload);
    EXPECT_TRUE(cr) << connect_response << ": " << cr.error().message();
    if (!cr) return {};
    const auto* block = cr->conference.find(gcc::block::sc_security);
    EXPECT_TRUE(block) << connect_response;
    return block ? *block : gcc::DataBlock{};
}

gcc::DataBlock block_of(Bytes body) {
    return gcc::DataBlock{gcc::block::sc_security, std::move(body)};
}

// xrdp's rsakeys.ini public modulus ("pub_mod=0x..,0x..", little-endian).
Bytes rsakeys_modulus() {
    const Bytes raw = fixture("xrdp_rsakeys.ini");
    const std::string text(raw.begin(), raw.end());
    const auto at = text.find("\npub_mod=");
    EXPECT_NE(at, std::string::npos);
    if (at == std::string::npos) return {};
    const auto start = at + 9;
    std::istringstream items(text.substr(start, text.find('\n', start) - start));
    Bytes out;
    std::string item;
    while (std::getline(items, item, ',')) out.push_back(uint8_t(std::stoul(item, nullptr, 16)));
    return out;
}

// "session_rdp_fips/s2c_01.bin" -> "session_rdp_fips_s2c_01": a gtest parameter name.
std::string param_name(std::string file) {
    file = file.substr(0, file.rfind('.'));
    std::replace_if(
        file.begin(), file.end(), [](char c) { return !std::isalnum(uint8_t(c)); }, '_');
    return file;
}

void put32(Bytes& b, std::size_t at, uint32_t v) {
    store_u32le(&b[at], v);
}
void put16(Bytes& b, std::size_t at, uint16_t v) {
    b[at] = uint8_t(v);
    b[at + 1] = uint8_t(v >> 8);
}

void expect_error(const Result<ServerSecurity>& r, const std::string& field) {
    ASSERT_FALSE(r.ok()) << "accepted; expected an error naming " << field;
    EXPECT_EQ(r.error().field, field) << r.error().message();
    EXPECT_FALSE(r.error().reason.empty());
}

// ----------------------------------------------------------------------------- captured
struct CapturedResponse {
    const char* file;
    uint32_t method;
    EncryptionLevel level;
};

std::ostream& operator<<(std::ostream& os, const CapturedResponse& c) {
    return os << c.file;
}

class CapturedScSecurity : public ::testing::TestWithParam<CapturedResponse> {};

TEST_P(CapturedScSecurity, DecodesProprietaryCertificateOfTheLabKey) {
    const auto& c = GetParam();
    const auto block = sc_security_of(c.file);
    auto sec = decode_server_security(block);
    ASSERT_TRUE(sec) << sec.error().message();
    EXPECT_EQ(sec->method, c.method);
    EXPECT_EQ(sec->level, c.level);
    ASSERT_EQ(sec->server_random.size(), 32u);
    // The random is the 32 bytes after the four 32-bit fields.
    EXPECT_EQ(hex(sec->server_random), hex(ByteView(block.body).subspan(16, 32)));
    ASSERT_TRUE(sec->certificate);
    const auto& cert = *sec->certificate;
    EXPECT_EQ(cert.kind, CertificateKind::proprietary);
    EXPECT_FALSE(cert.temporary);
    EXPECT_TRUE(cert.x509_chain.empty());
    EXPECT_EQ(cert.key.bits, 2048u);
    EXPECT_EQ(cert.key.modulus.size(), 256u);
    EXPECT_EQ(cert.key.exponent, 65537u);
    EXPECT_EQ(hex(cert.key.modulus), hex(rsakeys_modulus()));
    EXPECT_EQ(cert.signature_valid, std::optional<bool>(true));
}

TEST_P(CapturedScSecurity, EveryPrefixIsRejectedWithAField) {
    const auto block = sc_security_of(GetParam().file);
    for (std::size_t n = 0; n < block.body.size(); ++n) {
        auto r = decode_server_security(
            block_of(Bytes(block.body.begin(), block.body.begin() + long(n))));
        ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
        const auto& f = r.error().field;
        EXPECT_TRUE(f.rfind("sc_security.", 0) == 0 || f.rfind("server_certificate.", 0) == 0)
            << n << ": " << r.error().message();
    }
}

INSTANTIATE_TEST_SUITE_P(
    Captured, CapturedScSecurity,
    ::testing::Values(CapturedResponse{"mcs_connect_response_xrdp_rdp.bin",
                                       encryption_method::bits128, EncryptionLevel::high},
                      CapturedResponse{"session_rdp_rdesktop/s2c_01.bin",
                                       encryption_method::bits128, EncryptionLevel::high},
                      CapturedResponse{"session_rdp_low/s2c_01.bin", encryption_method::bits40,
                                       EncryptionLevel::low},
                      CapturedResponse{"session_rdp_fips/s2c_01.bin", encryption_method::fips,
                                       EncryptionLevel::fips}),
    [](const auto& info) { return param_name(info.param.file); });

TEST(ScSecurity, TlsConnectResponseHasNoEncryption) {
    auto sec = decode_server_security(sc_security_of("mcs_connect_response_xrdp_tls.bin"));
    ASSERT_TRUE(sec) << sec.error().message();
    EXPECT_EQ(sec->method, encryption_method::none);
    EXPECT_EQ(sec->level, EncryptionLevel::none);
    EXPECT_TRUE(sec->server_random.empty());
    EXPECT_FALSE(sec->certificate);
    // What the gateway sends its TLS client is the same thing.
    const auto ours = tls_server_security();
    EXPECT_EQ(ours.type, gcc::block::sc_security);
    EXPECT_EQ(ours.body, sc_security_of("mcs_connect_response_xrdp_tls.bin").body);
    EXPECT_TRUE(decode_server_security(ours));
}

// Offsets in xrdp's SC_SECURITY body (proprietary certificate, 2048-bit key).
constexpr std::size_t kLevel = 4, kRandomLen = 8, kCertLen = 12, kCert = 48;
constexpr std::size_t kVersion = kCert, kKeyBlobType = kCert + 12, kKeyBlobLen = kCert + 14,
                      kMagic = kCert + 16, kKeylen = kCert + 20, kModulus = kCert + 36,
                      kSigBlobType = kModulus + 264, kSigBlobLen = kSigBlobType + 2,
                      kSignature = kSigBlobLen + 2;

Bytes captured_body() {
    Bytes b = sc_security_of("mcs_connect_response_xrdp_rdp.bin").body;
    EXPECT_EQ(b.size(), kSignature + 72);
    EXPECT_EQ(load_u32le(&b[kMagic]), 0x31415352u) << "offsets no longer fit the fixture";
    return b;
}

TEST(ScSecurity, TamperedProprietarySignatureIsReportedInvalid) {
    {
        Bytes b = captured_body();
        b[kSignature + 10] ^= 0x01;
        auto sec = decode_server_security(block_of(b));
        ASSERT_TRUE(sec) << sec.error().message();
        EXPECT_EQ(sec->certificate->signature_valid, std::optional<bool>(false));
    }
    {  // the signed part: a modulus byte
        Bytes b = captured_body();
        b[kModulus + 100] ^= 0x01;
        auto sec = decode_server_security(block_of(b));
        ASSERT_TRUE(sec);
        EXPECT_EQ(sec->certificate->signature_valid, std::optional<bool>(false));
    }
    {  // a signature blob too short to hold a 512-bit signature
        Bytes b = captured_body();
        put16(b, kSigBlobLen, 16);
        auto sec = decode_server_security(block_of(b));
        ASSERT_TRUE(sec) << sec.error().message();
        EXPECT_EQ(sec->certificate->signature_valid, std::optional<bool>(false));
    }
    {  // the temporary bit is part of the signed dwVersion
        Bytes b = captured_body();
        put32(b, kVersion, 0x80000001);
        auto sec = decode_server_security(block_of(b));
        ASSERT_TRUE(sec) << sec.error().message();
        EXPECT_TRUE(sec->certificate->temporary);
        EXPECT_EQ(sec->certificate->signature_valid, std::optional<bool>(false));
    }
}

TEST(ScSecurity, MalformedFieldsAreNamed) {
    struct Case {
        const char* what;
        std::function<void(Bytes&)> spoil;
        const char* field;
    };
    const Case cases[] = {
        {"level 5", [](Bytes& b) { put32(b, kLevel, 5); }, "sc_security.encryption_level"},
        {"random length 31", [](Bytes& b) { put32(b, kRandomLen, 31); },
         "sc_security.server_random_len"},
        {"random length 33", [](Bytes& b) { put32(b, kRandomLen, 33); },
         "sc_security.server_random_len"},
        {"random length 0", [](Bytes& b) { put32(b, kRandomLen, 0); },
         "sc_security.server_random_len"},
        {"certificate longer than the block",
         [](Bytes& b) { put32(b, kCertLen, uint32_t(b.size())); },
         "sc_security.server_certificate"},
        {"dwVersion 3", [](Bytes& b) { put32(b, kVersion, 3); }, "server_certificate.dw_version"},
        {"dwVersion 0", [](Bytes& b) { put32(b, kVersion, 0); }, "server_certificate.dw_version"},
        {"temporary dwVersion 3", [](Bytes& b) { put32(b, kVersion, 0x80000003); },
         "server_certificate.dw_version"},
        {"public key blob type 7", [](Bytes& b) { put16(b, kKeyBlobType, 7); },
         "server_certificate.public_key_blob_type"},
        {"public key blob type = signature type", [](Bytes& b) { put16(b, kKeyBlobType, 8); },
         "server_certificate.public_key_blob_type"},
        {"signature blob type 6", [](Bytes& b) { put16(b, kSigBlobType, 6); },
         "server_certificate.signature_blob_type"},
        {"public key blob past the certificate", [](Bytes& b) { put16(b, kKeyBlobLen, 0xFFF0); },
         "server_certificate.public_key_blob"},
        {"signature blob past the certificate", [](Bytes& b) { put16(b, kSigBlobLen, 73); },
         "server_certificate.signature_blob"},
        {"magic RSA2", [](Bytes& b) { b[kMagic + 3] = '2'; },
         "server_certificate.public_key.magic"},
        {"keylen != bitlen/8 + 8", [](Bytes& b) { put32(b, kKeylen, 263); },
         "server_certificate.public_key.keylen"},
        {"keylen past the blob", [](Bytes& b) { put32(b, kKeylen, 264 + 8); },
         "server_certificate.public_key.keylen"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.what);
        Bytes b = captured_body();
        c.spoil(b);
        expect_error(decode_server_security(block_of(b)), c.field);
    }
}

TEST(ScSecurity, MethodNoneWithTrailingBytesStillNeedsAValidRandom) {
    Bytes b(12, 0);
    put32(b, 8, 31);
    expect_error(decode_server_security(block_of(b)), "sc_security.server_random_len");
}

TEST(ScSecurity, NamesMethodsAndLevels) {
    EXPECT_EQ(encryption_methods_to_string(0), "NONE");
    EXPECT_EQ(encryption_methods_to_string(0x1B), "40BIT|56BIT|128BIT|FIPS");
    EXPECT_EQ(encryption_methods_to_string(encryption_method::bits128), "128BIT");
    EXPECT_EQ(encryption_methods_to_string(0x100), "0x00000100");
    EXPECT_EQ(to_string(EncryptionLevel::client_compatible), "CLIENT_COMPATIBLE");
    EXPECT_EQ(to_string(EncryptionLevel::fips), "FIPS");
    EXPECT_EQ(to_string(EncryptionLevel(9)), "UNKNOWN(9)");
}

// ----------------------------------------------------------------------------- X.509 chain
struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Bytes make_cert(EVP_PKEY* key, EVP_PKEY* signer, const char* cn, const char* issuer) {
    std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 7);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
    X509_set_pubkey(x.get(), key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_issuer_name(x.get()), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(issuer), -1, -1, 0);
    EXPECT_GT(X509_sign(x.get(), signer, EVP_sha256()), 0);
    const int len = i2d_X509(x.get(), nullptr);
    Bytes der(std::size_t(std::max(len, 0)));
    unsigned char* p = der.data();
    i2d_X509(x.get(), &p);
    return der;
}

Bytes modulus_le(EVP_PKEY* key) {
    BIGNUM* n = nullptr;
    EXPECT_TRUE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n));
    Bytes out(std::size_t(BN_num_bytes(n)));
    BN_bn2lebinpad(n, out.data(), int(out.size()));
    BN_free(n);
    return out;
}

// CERT_CHAIN_VERSION_2: NumCertBlobs, (cbCert, DER)*, then 8 + 4 * NumCertBlobs zero bytes.
Bytes x509_certificate(uint32_t version, const std::vector<Bytes>& certs,
                       std::optional<uint32_t> count = std::nullopt) {
    Bytes b;
    Writer w(b);
    w.u32le(version);
    w.u32le(count.value_or(uint32_t(certs.size())));
    for (const auto& c : certs) {
        w.u32le(uint32_t(c.size()));
        w.bytes(c);
    }
    w.bytes(Bytes(8 + 4 * certs.size(), 0));
    return b;
}

Bytes sc_security_body(uint32_t method, uint32_t level, const Bytes& certificate) {
    Bytes b;
    Writer w(b);
    w.u32le(method);
    w.u32le(level);
    w.u32le(32);
    w.u32le(uint32_t(certificate.size()));
    for (uint8_t i = 0; i < 32; ++i) w.u8(uint8_t(0xC0 + i));
    w.bytes(certificate);
    return b;
}

class X509Chain : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        ca_key_ = Pkey(EVP_RSA_gen(2048));
        leaf_key_ = Pkey(EVP_RSA_gen(2048));
        ec_key_ = Pkey(EVP_EC_gen("P-256"));
        ca_ = make_cert(ca_key_.get(), ca_key_.get(), "rdpbridge test CA", "rdpbridge test CA");
        leaf_ = make_cert(leaf_key_.get(), ca_key_.get(), "legacy-host", "rdpbridge test CA");
        ec_leaf_ = make_cert(ec_key_.get(), ca_key_.get(), "ec-host", "rdpbridge test CA");
    }
    static void TearDownTestSuite() {
        ca_key_.reset();
        leaf_key_.reset();
        ec_key_.reset();
    }
    static inline Pkey ca_key_, leaf_key_, ec_key_;
    static inline Bytes ca_, leaf_, ec_leaf_;
};

TEST_F(X509Chain, KeyComesFromTheLastCertificate) {
    ASSERT_FALSE(ca_.empty());
    ASSERT_FALSE(leaf_.empty());
    auto sec = decode_server_security(block_of(
        sc_security_body(encryption_method::bits128, 2, x509_certificate(2, {ca_, leaf_}))));
    ASSERT_TRUE(sec) << sec.error().message();
    EXPECT_EQ(sec->method, encryption_method::bits128);
    EXPECT_EQ(sec->level, EncryptionLevel::client_compatible);
    EXPECT_EQ(sec->server_random.front(), 0xC0);
    ASSERT_TRUE(sec->certificate);
    const auto& cert = *sec->certificate;
    EXPECT_EQ(cert.kind, CertificateKind::x509);
    EXPECT_FALSE(cert.temporary);
    EXPECT_FALSE(cert.signature_valid.has_value());
    ASSERT_EQ(cert.x509_chain.size(), 2u);
    EXPECT_EQ(cert.x509_chain[0], ca_);
    EXPECT_EQ(cert.x509_chain[1], leaf_);
    EXPECT_EQ(hex(cert.key.modulus), hex(modulus_le(leaf_key_.get())));
    EXPECT_NE(hex(cert.key.modulus), hex(modulus_le(ca_key_.get())));
    EXPECT_EQ(cert.key.exponent, 65537u);
    EXPECT_EQ(cert.key.bits, 2048u);

    // A single certificate, and a temporary one.
    auto one = decode_server_security(block_of(
        sc_security_body(encryption_method::bits128, 3, x509_certificate(0x80000002, {ca_}))));
    ASSERT_TRUE(one) << one.error().message();
    EXPECT_TRUE(one->certificate->temporary);
    EXPECT_EQ(hex(one->certificate->key.modulus), hex(modulus_le(ca_key_.get())));
}

TEST_F(X509Chain, EveryPrefixIsRejected) {
    const Bytes body =
        sc_security_body(encryption_method::bits128, 2, x509_certificate(2, {ca_, leaf_}));
    for (std::size_t n = 0; n < body.size(); ++n) {
        auto r = decode_server_security(block_of(Bytes(body.begin(), body.begin() + long(n))));
        ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes accepted";
    }
}

TEST_F(X509Chain, MalformedChainsAreNamed) {
    auto decode = [](const Bytes& cert) {
        return decode_server_security(
            block_of(sc_security_body(encryption_method::bits128, 2, cert)));
    };
    expect_error(decode(x509_certificate(2, {}, 0)), "server_certificate.num_cert_blobs");
    expect_error(decode(x509_certificate(2, {ca_}, 17)), "server_certificate.num_cert_blobs");
    // Two announced, one present (the padding is read as a zero cbCert, then nothing).
    {
        Bytes c = x509_certificate(2, {ca_}, 2);
        c.resize(8 + 4 + ca_.size());
        expect_error(decode(c), "server_certificate.cert_blob.length");
    }
    // cbCert beyond the certificate.
    {
        Bytes c = x509_certificate(2, {leaf_});
        put32(c, 8, uint32_t(leaf_.size() + 100));
        expect_error(decode(c), "server_certificate.cert_blob");
    }
    // The key must be RSA and the last blob must be a certificate.
    expect_error(decode(x509_certificate(2, {ca_, ec_leaf_})), "server_certificate.cert_blob");
    expect_error(decode(x509_certificate(2, {ca_, Bytes(40, 0x30)})),
                 "server_certificate.cert_blob");
    // A chain version the proprietary reader must not take, and vice versa.
    expect_error(decode(x509_certificate(4, {ca_})), "server_certificate.dw_version");
    auto wrong = decode(x509_certificate(1, {ca_}));
    EXPECT_FALSE(wrong.ok()) << "an X.509 chain decoded as a proprietary certificate";
}

// ----------------------------------------------------------------------------- fast-path
struct FastPathCase {
    const char* file;
    bool fips;
    bool encrypted;
    std::size_t length_bytes;
};

std::ostream& operator<<(std::ostream& os, const FastPathCase& c) {
    return os << c.file;
}

class CapturedFastPath : public ::testing::TestWithParam<FastPathCase> {};

TEST_P(CapturedFastPath, DecodesAndReencodes) {
    const auto& c = GetParam();
    const Bytes frame = fixture(c.file);
    auto pdu = fastpath::decode(frame, c.fips);
    ASSERT_TRUE(pdu) << pdu.error().message();
    EXPECT_EQ(pdu->header, frame[0]);
    EXPECT_EQ(bool(pdu->flags() & sec::fastpath_encrypted), c.encrypted);
    EXPECT_EQ(pdu->mac.has_value(), c.encrypted);
    EXPECT_EQ(pdu->fips_padding.has_value(), c.fips && c.encrypted);
    if (pdu->fips_padding) {
        EXPECT_LT(*pdu->fips_padding, 8);
        EXPECT_EQ(pdu->data.size() % 8, 0u);
    }
    const std::size_t security = (c.encrypted ? 8 : 0) + (c.fips && c.encrypted ? 4 : 0);
    EXPECT_EQ(pdu->data.size(), frame.size() - 1 - c.length_bytes - security);
    EXPECT_EQ(pdu->data.data() + pdu->data.size(), frame.data() + frame.size());
    // xrdp and FreeRDP always write the two-byte length; encode() writes the one-byte form
    // below 128 bytes, which [MS-RDPBCGR] 2.2.9.1.2 allows. Everything else is kept.
    auto again = fastpath::encode(*pdu, pdu->data);
    ASSERT_TRUE(again) << again.error().message();
    const std::size_t canonical = frame.size() - 1 <= 0x7F ? 1 : 2;
    ASSERT_EQ(again->size(), frame.size() - c.length_bytes + canonical);
    EXPECT_EQ((*again)[0], frame[0]);
    EXPECT_EQ(hex(ByteView(*again).subspan(1 + canonical)),
              hex(ByteView(frame).subspan(1 + c.length_bytes)));
    auto redecoded = fastpath::decode(*again, c.fips);
    ASSERT_TRUE(redecoded) << redecoded.error().message();
    EXPECT_EQ(redecoded->mac, pdu->mac);
    EXPECT_EQ(redecoded->fips_padding, pdu->fips_padding);
    EXPECT_EQ(hex(redecoded->data), hex(pdu->data));
    expect_truncations_rejected(frame, [&](ByteView b) { return fastpath::decode(b, c.fips); });
}

INSTANTIATE_TEST_SUITE_P(
    Captured, CapturedFastPath,
    ::testing::Values(FastPathCase{"session_rdp_rdesktop/s2c_17.bin", false, true, 2},
                      FastPathCase{"session_rdp_rdesktop/s2c_19.bin", false, true, 2},
                      FastPathCase{"session_rdp_low/s2c_17.bin", false, false, 2},
                      FastPathCase{"session_rdp_low/s2c_19.bin", false, false, 2},
                      FastPathCase{"session_rdp_fips/s2c_16.bin", true, true, 2},
                      FastPathCase{"session_rdp_fips/s2c_19.bin", true, true, 2},
                      FastPathCase{"session_rdp_fips/c2s_18.bin", true, true, 2},
                      FastPathCase{"session_tls/s2c_16.bin", false, false, 2}),
    [](const auto& info) { return param_name(info.param.file); });

TEST(FastPathCodec, TwoByteLengthBelow128IsAccepted) {
    // What xrdp sends for a 6-byte fast-path Synchronize update.
    const Bytes frame = fixture("session_rdp_low/s2c_17.bin");
    ASSERT_EQ(frame.size(), 6u);
    ASSERT_EQ(frame[1], 0x80);
    auto pdu = fastpath::decode(frame, false);
    ASSERT_TRUE(pdu) << pdu.error().message();
    EXPECT_EQ(pdu->data.size(), 3u);
}

TEST(FastPathCodec, LengthSwitchesToTwoBytesAbove127) {
    fastpath::Pdu p;
    p.header = 0x00;
    for (std::size_t data = 120; data <= 130; ++data) {
        auto frame = fastpath::encode(p, Bytes(data, 0x42));
        ASSERT_TRUE(frame);
        const std::size_t one = 2 + data;
        if (one <= 0x7F) {
            ASSERT_EQ(frame->size(), one) << data;
            EXPECT_EQ((*frame)[1], one);
        } else {
            ASSERT_EQ(frame->size(), one + 1) << data;
            EXPECT_EQ(((*frame)[1] & 0x7F) << 8 | (*frame)[2], int(one + 1));
            EXPECT_TRUE((*frame)[1] & 0x80);
        }
        auto back = fastpath::decode(*frame, false);
        ASSERT_TRUE(back) << back.error().message();
        EXPECT_EQ(back->data.size(), data);
    }
}

TEST(FastPathCodec, EncryptedWithAndWithoutFipsInformation) {
    const Bytes data(16, 0x11);
    const std::array<uint8_t, 8> mac{1, 2, 3, 4, 5, 6, 7, 8};
    fastpath::Pdu p;
    p.header = uint8_t(sec::fastpath_encrypted << 6 | 0x04);
    p.mac = mac;
    auto plain = fastpath::encode(p, data);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->size(), 2 + 8 + data.size());
    auto d1 = fastpath::decode(*plain, false);
    ASSERT_TRUE(d1);
    EXPECT_EQ(d1->mac, mac);
    EXPECT_FALSE(d1->fips_padding);
    EXPECT_EQ(Bytes(d1->data.begin(), d1->data.end()), data);

    p.fips_padding = 5;
    auto fips = fastpath::encode(p, data);
    ASSERT_TRUE(fips);
    ASSERT_EQ(fips->size(), 2 + 4 + 8 + data.size());
    EXPECT_EQ(hex(ByteView(*fips).subspan(2, 4)), "10000105") << "length 0x10, version 1, padlen";
    auto d2 = fastpath::decode(*fips, true);
    ASSERT_TRUE(d2);
    EXPECT_EQ(d2->fips_padding, std::optional<uint8_t>(5));
    EXPECT_EQ(d2->mac, mac);
    EXPECT_EQ(Bytes(d2->data.begin(), d2->data.end()), data);

    // Not encrypted: no signature and no FIPS information even on a FIPS connection.
    fastpath::Pdu clear;
    clear.header = 0x04;
    auto c = fastpath::encode(clear, data);
    ASSERT_TRUE(c);
    auto d3 = fastpath::decode(*c, true);
    ASSERT_TRUE(d3);
    EXPECT_FALSE(d3->mac);
    EXPECT_FALSE(d3->fips_padding);
    EXPECT_EQ(d3->data.size(), data.size());
}

TEST(FastPathCodec, MalformedFramesAreNamed) {
    auto expect = [](const Bytes& frame, bool fips, const std::string& field) {
        auto r = fastpath::decode(frame, fips);
        ASSERT_FALSE(r.ok()) << hex(frame);
        EXPECT_EQ(r.error().field, field) << r.error().message();
    };
    expect({0x03, 0x00, 0x00, 0x04}, false, "fastpath.header");  // TPKT, not fast-path
    expect({0x01, 0x03, 0x00}, false, "fastpath.header");
    expect({0x00, 0x05, 0x00, 0x00}, false, "fastpath.length");        // says 5, has 4
    expect({0x00, 0x03, 0x00, 0x00}, false, "fastpath.length");        // says 3, has 4
    expect({0x00, 0x80, 0x06, 0x00, 0x00}, false, "fastpath.length");  // 2-byte form, says 6
    expect({0x00, 0x81, 0x00, 0x00}, false, "fastpath.length");
    expect({0x80, 0x05, 1, 2, 3}, false, "fastpath.data_signature");  // encrypted, no room
    expect({0x80, 0x03, 1}, true, "fastpath.fips_information.length");
    expect({0x80, 0x05, 0x10, 0x00, 0x01}, true, "fastpath.fips_information.padlen");
    expect({0x80, 0x07, 0x10, 0x00, 0x01, 0x00, 9}, true, "fastpath.data_signature");
    expect({0x80, 0x06, 0x0C, 0x00, 0x01, 0x00}, true, "fastpath.fips_information.length");
    expect({0x80, 0x06, 0x10, 0x00, 0x02, 0x00}, true, "fastpath.fips_information.version");
    expect({0x80, 0x06, 0x10, 0x00, 0x01, 0x08}, true, "fastpath.fips_information.padlen");
    fastpath::Pdu p;
    auto big = fastpath::encode(p, Bytes(fastpath::kMaxLength, 0));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().field, "fastpath.length");
    EXPECT_TRUE(fastpath::encode(p, Bytes(fastpath::kMaxLength - 3, 0)));
    p.mac.emplace();
    p.fips_padding = 8;
    auto padded = fastpath::encode(p, Bytes(16, 0));
    ASSERT_FALSE(padded);
    EXPECT_EQ(padded.error().field, "fastpath.fips_information.padlen");
}

// ----------------------------------------------------------------------------- MCS domain
struct SessionFile {
    std::string dir;
    std::string file;
};

std::vector<SessionFile> session_files(const std::string& dir) {
    const Bytes m = fixture(dir + "/manifest.json");
    const json manifest = json::parse(m.begin(), m.end());
    std::vector<SessionFile> out;
    for (const auto& p : manifest["pdus"]) out.push_back({dir, p["file"]});
    return out;
}

const char* const kSessionDirs[] = {"session_rdp_rdesktop", "session_rdp_low", "session_rdp_fips",
                                    "session_rdp", "session_tls"};

TEST(McsSendData, CapturedPdusRoundTrip) {
    std::size_t seen = 0;
    for (const char* dir : kSessionDirs) {
        for (const auto& f : session_files(dir)) {
            const Bytes frame = fixture(f.dir + "/" + f.file);
            if (frame[0] != kTpktVersion) continue;
            auto payload = unwrap_x224_data(frame);
            if (!payload) continue;  // X.224 Connection Request / Confirm
            auto type = mcs::domain_pdu_type(*payload);
            ASSERT_TRUE(type);
            if (*type != mcs::DomainPdu::send_data_request &&
                *type != mcs::DomainPdu::send_data_indication)
                continue;
            SCOPED_TRACE(f.dir + "/" + f.file);
            ++seen;
            auto sd = mcs::decode_send_data(*payload);
            ASSERT_TRUE(sd) << sd.error().message();
            const bool c2s = f.file.rfind("c2s", 0) == 0;
            EXPECT_EQ(sd->indication, !c2s);
            EXPECT_EQ(*type, c2s ? mcs::DomainPdu::send_data_request
                                 : mcs::DomainPdu::send_data_indication);
            EXPECT_GE(sd->channel, 1003);
            EXPECT_EQ(sd->priority_segmentation, 0x70);
            EXPECT_EQ(sd->user_data.data() + sd->user_data.size(),
                      payload->data() + payload->size());
            auto encoded = mcs::encode_send_data(*sd, sd->user_data);
            ASSERT_TRUE(encoded) << encoded.error().message();
            // rdesktop and FreeRDP always write the two-byte PER length; we write the
            // canonical one-byte form below 0x80, which xrdp also uses.
            const bool long_short = ((*payload)[6] & 0x80) && sd->user_data.size() < 0x80;
            if (long_short) {
                EXPECT_TRUE(c2s);
                EXPECT_EQ(encoded->size() + 1, frame.size());
            } else {
                EXPECT_EQ(hex(*encoded), hex(frame));
            }
            auto back = mcs::decode_send_data(*unwrap_x224_data(*encoded));
            ASSERT_TRUE(back);
            EXPECT_EQ(back->initiator, sd->initiator);
            EXPECT_EQ(back->channel, sd->channel);
            EXPECT_EQ(back->indication, sd->indication);
            EXPECT_EQ(hex(back->user_data), hex(sd->user_data));
        }
    }
    EXPECT_GT(seen, 60u);
}

TEST(McsSendData, TruncatedAndMalformedPayloadsAreRejected) {
    const Bytes frame = fixture("session_rdp_rdesktop/s2c_12.bin");
    const auto payload = *unwrap_x224_data(frame);
    const Bytes p(payload.begin(), payload.end());
    expect_truncations_rejected(p, [](ByteView b) { return mcs::decode_send_data(b); });
    Bytes longer = p;
    longer.push_back(0);
    auto r = mcs::decode_send_data(longer);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "mcs.send_data");
    // An Erect Domain Request is no Send Data PDU.
    const Bytes erect_frame = fixture("session_rdp_rdesktop/c2s_02.bin");
    const auto erect = *unwrap_x224_data(erect_frame);
    auto e = mcs::decode_send_data(erect);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().field, "mcs.send_data.type");
    // Too big for one TPKT frame.
    mcs::SendData header;
    auto big = mcs::encode_send_data(header, Bytes(0xFFFF, 0));
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().field, "mcs.send_data.length");
}

TEST(McsDomain, PduTypesOfTheCapturedConnectionSequence) {
    const std::map<std::string, mcs::DomainPdu> expected = {
        {"c2s_02.bin", mcs::DomainPdu::erect_domain_request},
        {"c2s_03.bin", mcs::DomainPdu::attach_user_request},
        {"s2c_02.bin", mcs::DomainPdu::attach_user_confirm},
        {"c2s_04.bin", mcs::DomainPdu::channel_join_request},
        {"s2c_03.bin", mcs::DomainPdu::channel_join_confirm},
        {"c2s_11.bin", mcs::DomainPdu::send_data_request},
        {"s2c_10.bin", mcs::DomainPdu::send_data_indication},
    };
    for (const auto& [file, type] : expected) {
        const Bytes frame = fixture("session_rdp_rdesktop/" + file);
        auto payload = unwrap_x224_data(frame);
        ASSERT_TRUE(payload) << file;
        auto t = mcs::domain_pdu_type(*payload);
        ASSERT_TRUE(t) << file;
        EXPECT_EQ(*t, type) << file;
    }
    auto empty = mcs::domain_pdu_type(ByteView());
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().field, "mcs.domain_pdu");
}

TEST(McsDomain, DisconnectProviderUltimatumReason) {
    // xrdp's answer to FreeRDP's salted-MAC Client Info: user-requested (3).
    const Bytes frame = fixture("session_rdp/s2c_09.bin");
    ASSERT_EQ(frame.size(), 9u);
    auto payload = unwrap_x224_data(frame);
    ASSERT_TRUE(payload);
    EXPECT_EQ(*mcs::domain_pdu_type(*payload), mcs::DomainPdu::disconnect_provider_ultimatum);
    auto reason = mcs::disconnect_reason(*payload);
    ASSERT_TRUE(reason);
    EXPECT_EQ(*reason, 3);
    // Every reason: six type bits (8), then the three reason bits across the octet boundary.
    for (uint8_t reason = 0; reason < 5; ++reason) {
        const Bytes p{uint8_t(8 << 2 | reason >> 1), uint8_t((reason & 1) << 7)};
        auto r = mcs::disconnect_reason(p);
        ASSERT_TRUE(r);
        EXPECT_EQ(*r, reason);
    }
    auto cut = mcs::disconnect_reason(ByteView(payload->data(), 1));
    ASSERT_FALSE(cut);
    EXPECT_EQ(cut.error().field, "mcs.disconnect_provider_ultimatum");
}

// ----------------------------------------------------------------------------- licensing
Bytes user_data(const std::string& rel) {
    const Bytes frame = fixture(rel);
    auto payload = unwrap_x224_data(frame);
    EXPECT_TRUE(payload) << rel;
    if (!payload) return {};
    auto sd = mcs::decode_send_data(*payload);
    EXPECT_TRUE(sd) << rel;
    if (!sd) return {};
    return Bytes(sd->user_data.begin(), sd->user_data.end());
}

TEST(Licensing, NamesCapturedLicensingPdus) {
    struct Case {
        const char* file;
        const char* name;
    };
    const Case cases[] = {
        {"session_rdp_rdesktop/s2c_10.bin", "LICENSE_REQUEST"},
        {"session_rdp_rdesktop/c2s_13.bin", "NEW_LICENSE_REQUEST"},
        {"session_rdp_rdesktop/s2c_11.bin", "ERROR_ALERT"},
        {"session_rdp_low/s2c_10.bin", "LICENSE_REQUEST"},
        {"session_rdp_fips/s2c_09.bin", "LICENSE_REQUEST"},
        {"session_rdp_fips/s2c_10.bin", "ERROR_ALERT"},
    };
    for (const auto& c : cases) {
        const Bytes ud = user_data(c.file);
        ASSERT_GE(ud.size(), 4u);
        EXPECT_EQ(ud[0] | ud[1] << 8, sec::license_pkt) << c.file << ": basic header form";
        // xrdp sends a canned License Request / Error Alert whose flagsHi holds the
        // message size; flagsHi must be ignored, which the bridge does.
        if (c.file[std::string(c.file).find('/') + 1] == 's') {
            EXPECT_EQ(ud[2] | ud[3] << 8, int(ud.size() - 4)) << c.file;
        }
        const ByteView pdu = ByteView(ud).subspan(4);
        EXPECT_EQ(licensing::message_name(pdu), std::optional<std::string>(c.name)) << c.file;
    }
}

TEST(Licensing, RejectsWhatIsNotALicensingPreamble) {
    const Bytes ud = user_data("session_rdp_rdesktop/s2c_11.bin");
    const Bytes alert(ud.begin() + 4, ud.end());
    ASSERT_TRUE(licensing::message_name(alert));
    Bytes longer = alert;
    longer.push_back(0);
    EXPECT_FALSE(licensing::message_name(longer)) << "wMsgSize must equal the size";
    EXPECT_FALSE(licensing::message_name(ByteView(alert).first(alert.size() - 1)));
    Bytes v1 = alert;
    v1[1] = (v1[1] & 0xF0) | 0x01;
    EXPECT_FALSE(licensing::message_name(v1)) << "preamble version 1";
    Bytes flagged = alert;
    flagged[1] = 0x80 | 0x03;  // EXTENDED_ERROR_MSG_SUPPORTED | PREAMBLE_VERSION_3_0
    EXPECT_EQ(licensing::message_name(flagged), std::optional<std::string>("ERROR_ALERT"));
    Bytes unknown = alert;
    unknown[0] = 0x05;
    EXPECT_FALSE(licensing::message_name(unknown));
    EXPECT_FALSE(licensing::message_name(ByteView(alert).first(3)));
}

// ----------------------------------------------------------------------------- session info
// A Save Session Info PDU (2.2.10.1) with INFO_TYPE_LOGON_EXTENDED_INFO: Share Control and Share
// Data headers, infoType 3, TS_LOGON_INFO_EXTENDED (Length, FieldsPresent, fields), 570 pad.
Bytes save_session_info(bool cookie, bool errors, uint32_t info_type = 3) {
    Bytes fields;
    Writer f(fields);
    uint32_t present = 0;
    if (cookie) {
        present |= 0x1;
        f.u32le(28);  // cbFieldData
        f.u32le(28);  // ARC_SC_PRIVATE_PACKET: cbLen, Version, LogonId, ArcRandomBits
        f.u32le(1);
        f.u32le(0x1234);
        for (uint8_t i = 0; i < 16; ++i) f.u8(uint8_t(0xA0 + i));
    }
    if (errors) {
        present |= 0x2;
        f.u32le(8);
        f.u32le(0xFFFFFFFE);  // LOGON_MSG_SESSION_CONTINUE
        f.u32le(0);
    }
    Bytes pdu;
    Writer w(pdu);
    const std::size_t logon = 2 + 4 + fields.size();
    const std::size_t total = 6 + 12 + 4 + logon + 570;
    w.u16le(uint16_t(total));  // totalLength
    w.u16le(0x17);             // PDUTYPE_DATAPDU, version 1
    w.u16le(1002);             // pduSource
    w.u32le(0x103EA);          // shareId
    w.u8(0);
    w.u8(1);                        // STREAM_LOW
    w.u16le(uint16_t(total - 14));  // uncompressedLength
    w.u8(0x26);                     // PDUTYPE2_SAVE_SESSION_INFO
    w.u8(0);
    w.u16le(0);
    w.u32le(info_type);
    w.u16le(uint16_t(logon));
    w.u32le(present);
    w.bytes(fields);
    w.bytes(Bytes(570, 0));
    return pdu;
}

TEST(SessionInfo, StripsTheAutoReconnectCookieAndFixesEveryLength) {
    for (bool errors : {false, true}) {
        SCOPED_TRACE(errors ? "with logon errors" : "cookie only");
        Bytes pdu = save_session_info(true, errors);
        const Bytes expected_tail = [&] {
            Bytes without = save_session_info(false, errors);
            return without;
        }();
        ASSERT_TRUE(session_info::strip_autoreconnect_cookie(pdu));
        // The result is exactly the PDU that never had a cookie.
        EXPECT_EQ(hex(pdu), hex(expected_tail));
        EXPECT_EQ(pdu[0] | pdu[1] << 8, int(pdu.size()));
        EXPECT_EQ(load_u32le(&pdu[24]), errors ? 0x2u : 0x0u);
        // Nothing left to strip.
        EXPECT_FALSE(session_info::strip_autoreconnect_cookie(pdu));
    }
}

TEST(SessionInfo, LeavesOtherPdusUntouched) {
    auto untouched = [](Bytes pdu, const char* what) {
        const Bytes before = pdu;
        EXPECT_FALSE(session_info::strip_autoreconnect_cookie(pdu)) << what;
        EXPECT_EQ(pdu, before) << what;
    };
    untouched(save_session_info(false, true), "no cookie");
    untouched(save_session_info(false, false), "no fields");
    untouched(save_session_info(true, true, 0), "INFO_TYPE_LOGON");
    untouched(save_session_info(true, true, 2), "INFO_TYPE_LOGON_PLAINNOTIFY");
    {
        Bytes p = save_session_info(true, false);
        p[15] = 0x20;  // PACKET_COMPRESSED
        untouched(p, "compressed");
    }
    {
        Bytes p = save_session_info(true, false);
        p[14] = 0x27;  // another pduType2
        untouched(p, "not Save Session Info");
    }
    {
        Bytes p = save_session_info(true, false);
        p[2] = 0x11;  // PDUTYPE_DEMANDACTIVEPDU
        untouched(p, "not a Data PDU");
    }
    {
        Bytes p = save_session_info(true, false);
        p.resize(28 + 4 + 10);  // the cookie runs past the end
        untouched(p, "truncated cookie");
    }
    {
        Bytes p = save_session_info(true, false);
        p.resize(31);
        untouched(p, "shorter than cbFieldData");
    }
    untouched(Bytes(), "empty");
}

}  // namespace

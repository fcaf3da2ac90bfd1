// Known-answer tests for Standard RDP Security ([MS-RDPBCGR] 5.3): rdp/crypto, rdp/
// standard_security and the security header forms.
//
//  * Captured sessions (tests/fixtures/session_rdp*/, README "Standard RDP Security
//    sessions"): real xrdp <-> rdesktop / FreeRDP traffic at 40-bit, 128-bit and FIPS. With the
//    lab key pair (xrdp_rsakeys.ini) the client random is recovered from the Security Exchange,
//    and every encrypted PDU of both directions must open with a valid MAC, in order, fail when
//    one byte is flipped, and re-seal to the captured bytes.
//  * Independent vectors (tests/fixtures/kat/vectors.json, written by generate_kat.py, a
//    separate Python implementation): 40/56/128-bit and FIPS keys, sealed output, key update.
//  * The RSA exchange against an OpenSSL-generated key.
#include <gtest/gtest.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <bit>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "fixtures.hpp"
#include "rdp/crypto.hpp"
#include "rdp/fastpath.hpp"
#include "rdp/licensing.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/security_header.hpp"
#include "rdp/server_security.hpp"
#include "rdp/standard_security.hpp"
#include "rdp/tpkt.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::fixture;
using json = nlohmann::json;

namespace {

// ----------------------------------------------------------------------------- helpers
Bytes unhex(const std::string& s) {
    EXPECT_EQ(s.size() % 2, 0u) << s;
    Bytes out;
    for (std::size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(uint8_t(std::stoi(s.substr(i, 2), nullptr, 16)));
    return out;
}

template <class T>
std::string hx(const T& v) {
    return hex(ByteView(v.data(), v.size()));
}

json load_json(const std::string& rel) {
    const Bytes b = fixture(rel);
    return json::parse(b.begin(), b.end());
}

const json& vectors() {
    static const json v = load_json("kat/vectors.json");
    return v;
}

// The keys, or a test failure naming why there are none.
SessionKeys derive(uint32_t method, ByteView client_random, ByteView server_random) {
    auto keys = derive_session_keys(method, client_random, server_random);
    EXPECT_TRUE(keys.ok()) << (keys ? "" : keys.error().message());
    return keys ? *keys : SessionKeys{};
}

// OpenSSL's failures are the session's errors; here every primitive is present.
StandardSecurity make(const SessionKeys& keys) {
    auto s = StandardSecurity::create(keys);
    EXPECT_TRUE(s) << s.error().message();
    return std::move(s).value();
}

// A MAC that verifies; an OpenSSL error fails the test rather than passing as a mismatch.
bool verified(const Result<Opened>& opened) {
    EXPECT_TRUE(opened) << opened.error().message();
    return opened && *opened == Opened::verified;
}

SessionKeys swapped(const SessionKeys& k) {
    SessionKeys s = k;
    std::swap(s.encrypt_key, s.decrypt_key);
    return s;
}

Bytes utf16le(const std::string& ascii) {
    Bytes out;
    for (char c : ascii) {
        out.push_back(uint8_t(c));
        out.push_back(0);
    }
    return out;
}

bool contains(ByteView hay, ByteView needle) {
    return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

// xrdp's rsakeys.ini: "name=0x01,0x02,..." byte lists, little-endian numbers.
std::map<std::string, Bytes> read_rsakeys(const std::string& rel) {
    const Bytes raw = fixture(rel);
    std::istringstream in(std::string(raw.begin(), raw.end()));
    std::map<std::string, Bytes> out;
    std::string line;
    while (std::getline(in, line)) {
        const auto eq = line.find('=');
        if (eq == std::string::npos || line.rfind("0x", eq + 1) != eq + 1) continue;
        Bytes value;
        std::istringstream items(line.substr(eq + 1));
        std::string item;
        while (std::getline(items, item, ','))
            value.push_back(uint8_t(std::stoul(item, nullptr, 16)));
        out[line.substr(0, eq)] = value;
    }
    return out;
}

// ----------------------------------------------------------------------------- sessions
// One encrypted PDU of a captured session, with its security header taken apart.
struct EncryptedPdu {
    std::string file;
    bool c2s = false;
    bool fastpath = false;
    uint16_t channel = 0;
    uint16_t flags = 0;  // security header flags, or fast-path header flags (top two bits)
    bool salted = false;
    uint8_t fips_padding = 0;
    std::array<uint8_t, 8> mac{};
    Bytes data;  // ciphertext
    uint8_t fastpath_header = 0;
};

struct CapturedSession {
    std::string dir;
    ServerSecurity security;
    Bytes exchange_ciphertext;  // modulus-length part of the Security Exchange PDU
    Bytes exchange_padding;     // the 8 bytes after it
    uint16_t exchange_flags = 0;
    Bytes client_random;
    std::vector<EncryptedPdu> encrypted;
    std::vector<Bytes> plain_after_exchange_s2c;  // slow-path s2c user data not encrypted
};

Bytes user_data_of(const Bytes& frame, mcs::SendData* sd_out = nullptr) {
    auto payload = unwrap_x224_data(frame);
    if (!payload) return {};
    auto type = mcs::domain_pdu_type(*payload);
    if (!type || (*type != mcs::DomainPdu::send_data_request &&
                  *type != mcs::DomainPdu::send_data_indication))
        return {};
    auto sd = mcs::decode_send_data(*payload);
    EXPECT_TRUE(sd) << sd.error().message();
    if (!sd) return {};
    if (sd_out) *sd_out = *sd;
    return Bytes(sd->user_data.begin(), sd->user_data.end());
}

// Reads a session directory in the order the forwarder saw it (manifest.json) and splits every
// PDU after the Security Exchange into header fields and ciphertext.
CapturedSession load_session(const std::string& dir) {
    CapturedSession s;
    s.dir = dir;
    const json manifest = load_json(dir + "/manifest.json");
    // The Connect Response: SC_SECURITY with the method and the server random.
    {
        const Bytes frame = fixture(dir + "/s2c_01.bin");
        auto payload = unwrap_x224_data(frame);
        EXPECT_TRUE(payload);
        auto cr = mcs::decode_connect_response(*payload);
        EXPECT_TRUE(cr) << cr.error().message();
        const auto* block = cr->conference.find(gcc::block::sc_security);
        EXPECT_TRUE(block);
        auto sec = decode_server_security(*block);
        EXPECT_TRUE(sec) << sec.error().message();
        s.security = *sec;
    }
    const bool fips = s.security.method == encryption_method::fips;
    bool exchanged = false;
    for (const auto& entry : manifest["pdus"]) {
        const std::string file = entry["file"];
        const bool c2s = file.rfind("c2s", 0) == 0;
        const Bytes frame = fixture(dir + "/" + file);
        EXPECT_EQ(frame.size(), std::size_t(entry["len"])) << file;
        if (frame.empty()) continue;
        if (frame[0] != kTpktVersion) {
            // Fast-path: only after the exchange, encrypted when the flag says so.
            EXPECT_TRUE(exchanged) << file;
            auto fp = fastpath::decode(frame, fips);
            EXPECT_TRUE(fp) << file << ": " << fp.error().message();
            if (!fp || !(fp->flags() & sec::fastpath_encrypted)) continue;
            EncryptedPdu e;
            e.file = file;
            e.c2s = c2s;
            e.fastpath = true;
            e.fastpath_header = fp->header;
            e.flags = fp->flags();
            e.salted = fp->flags() & sec::fastpath_secure_checksum;
            EXPECT_EQ(fp->fips_padding.has_value(), fips) << file;
            e.fips_padding = fp->fips_padding.value_or(0);
            e.mac = *fp->mac;
            e.data.assign(fp->data.begin(), fp->data.end());
            s.encrypted.push_back(std::move(e));
            continue;
        }
        mcs::SendData sd;
        const Bytes ud = user_data_of(frame, &sd);
        if (ud.empty()) continue;
        EXPECT_GE(ud.size(), sec::kBasicSize) << file;
        if (ud.size() < sec::kBasicSize) continue;
        Reader r(ud);
        const uint16_t flags = *r.u16le("flags");
        const uint16_t flags_hi = *r.u16le("flags_hi");
        // flagsHi is reserved (zero), except that xrdp's canned licensing PDUs carry their
        // size there; readers ignore it.
        if (!(flags & sec::license_pkt) || c2s) {
            EXPECT_EQ(flags_hi, 0) << file;
        }
        if (flags & sec::exchange_pkt) {
            EXPECT_TRUE(c2s) << file;
            const uint32_t length = *r.u32le("length");
            EXPECT_EQ(length, r.remaining()) << file;
            const std::size_t n = s.security.certificate->key.modulus.size();
            EXPECT_EQ(length, n + 8) << file << ": modulus-sized value plus 8 zero bytes";
            s.exchange_flags = flags;
            s.exchange_ciphertext.assign(r.rest().begin(), r.rest().begin() + long(n));
            s.exchange_padding.assign(r.rest().begin() + long(n), r.rest().end());
            exchanged = true;
            continue;
        }
        EXPECT_TRUE(exchanged) << file << ": Send Data before the Security Exchange";
        if (!(flags & sec::encrypt)) {
            if (!c2s) s.plain_after_exchange_s2c.emplace_back(r.rest().begin(), r.rest().end());
            continue;
        }
        EncryptedPdu e;
        e.file = file;
        e.c2s = c2s;
        e.channel = sd.channel;
        e.flags = flags;
        e.salted = flags & sec::secure_checksum;
        if (fips) {
            // FIPS form: basic header, length 0x10, version 1, padlen, MAC.
            EXPECT_GE(ud.size(), sec::kFipsSize) << file;
            EXPECT_EQ(*r.u16le("fips.length"), sec::kFipsHeaderLength) << file;
            EXPECT_EQ(*r.u8("fips.version"), sec::kFipsVersion) << file;
            e.fips_padding = *r.u8("fips.padlen");
        } else {
            EXPECT_GE(ud.size(), sec::kNonFipsSize) << file;
        }
        auto mac = r.bytes(sec::kMacSize, "mac");
        EXPECT_TRUE(mac) << file;
        std::copy(mac->begin(), mac->end(), e.mac.begin());
        e.data.assign(r.rest().begin(), r.rest().end());
        s.encrypted.push_back(std::move(e));
    }
    EXPECT_TRUE(exchanged) << dir << ": no Security Exchange PDU";
    // m = c^d mod n with the private exponent of the committed key file.
    const auto keys = read_rsakeys("xrdp_rsakeys.ini");
    const Bytes m = crypto::rsa_public_le(s.exchange_ciphertext, keys.at("pub_mod"),
                                          ByteView(keys.at("pri_exp")))
                        .value();
    s.client_random.assign(m.begin(), m.begin() + 32);
    EXPECT_TRUE(std::all_of(m.begin() + 32, m.end(), [](uint8_t b) { return b == 0; }))
        << dir << ": the recovered client random is longer than 32 bytes: wrong key file?";
    return s;
}

enum class Tamper { none, data, mac, mac_form };

// Opens every encrypted PDU in order: client -> server with the server's view (keys swapped),
// server -> client with the client's view. Returns the plaintexts; nullopt where the MAC did
// not verify. `tamper` spoils PDU number `at` in the given way first.
std::vector<std::optional<Bytes>> replay(const CapturedSession& s, Tamper tamper = Tamper::none,
                                         std::size_t at = 0) {
    const SessionKeys keys = derive(s.security.method, s.client_random, s.security.server_random);
    StandardSecurity client = make(keys);
    StandardSecurity server = make(swapped(keys));
    std::vector<std::optional<Bytes>> out;
    for (std::size_t i = 0; i < s.encrypted.size(); ++i) {
        const auto& e = s.encrypted[i];
        Bytes data = e.data;
        auto mac = e.mac;
        bool salted = e.salted;
        if (i == at) {
            if (tamper == Tamper::data) data[data.size() / 2] ^= 0x01;
            if (tamper == Tamper::mac) mac[7] ^= 0x80;
            if (tamper == Tamper::mac_form) salted = !salted;
        }
        StandardSecurity& view = e.c2s ? server : client;
        const bool ok = verified(view.open(data, mac.data(), salted, e.fips_padding));
        out.push_back(ok ? std::optional<Bytes>(data) : std::nullopt);
    }
    EXPECT_EQ(client.packets_opened() + server.packets_opened(), s.encrypted.size());
    return out;
}

struct SessionCase {
    const char* dir;
    uint32_t method;
    EncryptionLevel level;
    std::size_t encrypted_c2s;
    std::size_t encrypted_s2c;
    bool client_salted;  // FreeRDP sets SEC_SECURE_CHECKSUM, rdesktop does not
    const char* client;
};

std::ostream& operator<<(std::ostream& os, const SessionCase& c) {
    return os << c.dir;
}

const SessionCase kSessions[] = {
    // rdesktop 1.9 <-> xrdp crypt_level=high: 128-bit, both directions, fast-path output.
    {"session_rdp_rdesktop", encryption_method::bits128, EncryptionLevel::high, 7, 8, false,
     "rdesktop"},
    // rdesktop 1.9 <-> xrdp crypt_level=low: 40-bit, client -> server only.
    {"session_rdp_low", encryption_method::bits40, EncryptionLevel::low, 7, 0, false, "rdesktop"},
    // xfreerdp /sec:rdp <-> xrdp crypt_level=fips: 3DES + HMAC-SHA1, fast-path both ways.
    {"session_rdp_fips", encryption_method::fips, EncryptionLevel::fips, 9, 9, true, "xfreerdp"},
    // xfreerdp /sec:rdp <-> xrdp crypt_level=high: only the (salted) Client Info, which xrdp
    // 0.9.21 rejects although it is correct.
    {"session_rdp", encryption_method::bits128, EncryptionLevel::high, 1, 0, true, "xfreerdp"},
};

class CapturedSessionKat : public ::testing::TestWithParam<SessionCase> {
  protected:
    static const CapturedSession& session(const std::string& dir) {
        static std::map<std::string, CapturedSession> cache;
        auto it = cache.find(dir);
        if (it == cache.end()) it = cache.emplace(dir, load_session(dir)).first;
        return it->second;
    }
    const CapturedSession& s() const { return session(GetParam().dir); }
};

TEST_P(CapturedSessionKat, ServerSecurityMatchesTheCommittedKeyFile) {
    const auto& c = GetParam();
    const auto& sec = s().security;
    EXPECT_EQ(sec.method, c.method);
    EXPECT_EQ(sec.level, c.level);
    ASSERT_EQ(sec.server_random.size(), 32u);
    ASSERT_TRUE(sec.certificate);
    EXPECT_EQ(sec.certificate->kind, CertificateKind::proprietary);
    EXPECT_EQ(sec.certificate->signature_valid, std::optional<bool>(true));
    const auto keys = read_rsakeys("xrdp_rsakeys.ini");
    EXPECT_EQ(hx(sec.certificate->key.modulus), hx(keys.at("pub_mod")))
        << "the session was captured with another key than xrdp_rsakeys.ini";
    EXPECT_EQ(sec.certificate->key.exponent, load_u32le(keys.at("pub_exp").data()));
}

TEST_P(CapturedSessionKat, ClientRandomRecoveredWithThePrivateKeyReencryptsToTheCapture) {
    const auto& sess = s();
    EXPECT_EQ(sess.exchange_padding, Bytes(8, 0));
    EXPECT_EQ(sess.exchange_flags & ~sec::license_encrypt, sec::exchange_pkt);
    const auto& key = sess.security.certificate->key;
    // Encrypting the recovered random with the public key must give the captured bytes.
    EXPECT_EQ(hx(crypto::rsa_public_le(sess.client_random, key.modulus, key.exponent).value()),
              hx(sess.exchange_ciphertext));
    EXPECT_NE(sess.client_random, Bytes(32, 0));
}

TEST_P(CapturedSessionKat, EveryEncryptedPduOpensInOrderWithAValidMac) {
    const auto& c = GetParam();
    const auto& sess = s();
    std::size_t c2s = 0, s2c = 0;
    for (const auto& e : sess.encrypted) (e.c2s ? c2s : s2c)++;
    EXPECT_EQ(c2s, c.encrypted_c2s);
    EXPECT_EQ(s2c, c.encrypted_s2c);
    const auto plain = replay(sess);
    ASSERT_EQ(plain.size(), sess.encrypted.size());
    for (std::size_t i = 0; i < plain.size(); ++i)
        EXPECT_TRUE(plain[i]) << sess.encrypted[i].file << ": MAC does not verify";
    // The MAC form follows the client: FreeRDP salts, rdesktop does not; xrdp never does.
    for (const auto& e : sess.encrypted) {
        EXPECT_EQ(e.salted, e.c2s && c.client_salted) << e.file;
    }
}

TEST_P(CapturedSessionKat, DecryptedPdusHaveTheirProtocolStructure) {
    const auto& sess = s();
    const auto plain = replay(sess);
    bool saw_client_info = false;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const auto& e = sess.encrypted[i];
        ASSERT_TRUE(plain[i]) << e.file;
        const Bytes& p = *plain[i];
        SCOPED_TRACE(e.file);
        if (e.fastpath && !e.c2s) {
            // Fast-path output: a sequence of updates that exactly fills the plaintext.
            Reader r(p);
            int updates = 0;
            while (!r.empty()) {
                const uint8_t header = *r.u8("updateHeader");
                if ((header >> 6) & 0x2) {
                    ASSERT_TRUE(r.u8("compressionFlags"));
                }
                auto size = r.u16le("size");
                ASSERT_TRUE(size);
                ASSERT_TRUE(r.skip(*size, "updateData")) << "update " << updates;
                ++updates;
            }
            EXPECT_GT(updates, 0);
        } else if (e.fastpath) {
            // Fast-path input: numEvents events of known sizes, nothing left over.
            Reader r(p);
            std::size_t events = (e.fastpath_header >> 2) & 0x0F;
            if (events == 0) events = *r.u8("numEvents");
            for (std::size_t n = 0; n < events; ++n) {
                const uint8_t code = *r.u8("eventHeader") >> 5;
                // 2.2.8.1.2.2: scancode, mouse, mousex, sync, unicode, relmouse, QoE
                const std::size_t sizes[] = {1, 6, 6, 0, 2, 6, 4};
                ASSERT_LT(code, 7) << "event " << n;
                ASSERT_TRUE(r.skip(sizes[code], "event"));
            }
            EXPECT_TRUE(r.empty());
        } else if (e.flags & sec::info_pkt) {
            // TS_INFO_PACKET: user name "labuser" in UTF-16LE, cbUserName = 14.
            saw_client_info = true;
            ASSERT_GT(p.size(), 18u);
            EXPECT_EQ(p[10] | p[11] << 8, 14);
            EXPECT_TRUE(contains(p, utf16le("labuser")));
            EXPECT_TRUE(load_u32le(&p[4]) & 0x10) << "INFO_UNICODE";
        } else if (e.flags & sec::license_pkt) {
            EXPECT_TRUE(licensing::message_name(p)) << hex(ByteView(p).first(8));
        } else if (e.channel == 1003) {
            // Share Control Header whose totalLength is the plaintext size.
            ASSERT_GE(p.size(), 6u);
            EXPECT_EQ(std::size_t(p[0] | p[1] << 8), p.size());
        } else {
            // Virtual channel: CHANNEL_PDU_HEADER, length >= the chunk after it.
            ASSERT_GE(p.size(), 8u);
            EXPECT_GE(load_u32le(p.data()), p.size() - 8);
        }
    }
    EXPECT_TRUE(saw_client_info) << "no encrypted Client Info PDU";
}

TEST_P(CapturedSessionKat, FlippingOneByteOfAnyPduBreaksItsMac) {
    const auto& sess = s();
    for (std::size_t k = 0; k < sess.encrypted.size(); ++k) {
        SCOPED_TRACE(sess.encrypted[k].file);
        const auto data = replay(sess, Tamper::data, k);
        EXPECT_FALSE(data[k]) << "ciphertext byte flipped, MAC still verifies";
        for (std::size_t i = 0; i < k; ++i) EXPECT_TRUE(data[i]);
        const auto mac = replay(sess, Tamper::mac, k);
        EXPECT_FALSE(mac[k]) << "MAC byte flipped, still verifies";
        // The streams stay in step after a spoiled PDU: later PDUs of the other direction
        // (and, for RC4, of the same direction) still verify.
        for (std::size_t i = k + 1; i < mac.size(); ++i) EXPECT_TRUE(mac[i]) << i;
    }
}

TEST_P(CapturedSessionKat, OnlyTheFlaggedMacFormVerifies) {
    // RC4: SEC_SECURE_CHECKSUM / FASTPATH_OUTPUT_SECURE_CHECKSUM selects the salted MAC, and
    // the other form must fail. FIPS: the HMAC always includes the count, the flag is moot.
    const auto& sess = s();
    const bool fips = sess.security.method == encryption_method::fips;
    for (std::size_t k = 0; k < sess.encrypted.size(); ++k) {
        const auto r = replay(sess, Tamper::mac_form, k);
        EXPECT_EQ(r[k].has_value(), fips) << sess.encrypted[k].file;
    }
}

TEST_P(CapturedSessionKat, ResealingThePlaintextsReproducesTheCapture) {
    const auto& sess = s();
    const auto plain = replay(sess);
    const SessionKeys keys =
        derive(sess.security.method, sess.client_random, sess.security.server_random);
    StandardSecurity client = make(keys);
    StandardSecurity server = make(swapped(keys));
    for (std::size_t i = 0; i < plain.size(); ++i) {
        const auto& e = sess.encrypted[i];
        ASSERT_TRUE(plain[i]) << e.file;
        const Sealed sealed = (e.c2s ? client : server).seal(*plain[i], e.salted).value();
        EXPECT_EQ(hx(sealed.mac), hx(e.mac)) << e.file;
        EXPECT_EQ(hx(sealed.data), hx(e.data)) << e.file;
        EXPECT_EQ(sealed.fips_padding, e.fips_padding) << e.file;
    }
    EXPECT_EQ(client.packets_sealed() + server.packets_sealed(), plain.size());
}

INSTANTIATE_TEST_SUITE_P(Captured, CapturedSessionKat, ::testing::ValuesIn(kSessions),
                         [](const auto& info) { return std::string(info.param.dir); });

TEST(CapturedSession, LowLevelServerSendsPlainPdusWithABasicHeader) {
    // ENCRYPTION_LEVEL_LOW: only client -> server is encrypted; xrdp still puts a basic
    // security header (flags 0 or SEC_LICENSE_PKT) on every slow-path PDU.
    const auto s = load_session("session_rdp_low");
    ASSERT_FALSE(s.plain_after_exchange_s2c.empty());
    for (const auto& ud : s.plain_after_exchange_s2c) {
        const bool license = licensing::message_name(ud).has_value();
        const bool share = ud.size() >= 6 && std::size_t(ud[0] | ud[1] << 8) == ud.size();
        const bool channel = ud.size() >= 8 && load_u32le(ud.data()) >= ud.size() - 8;
        EXPECT_TRUE(license || share || channel) << hex(ByteView(ud).first(8));
    }
}

TEST(CapturedSession, EncryptedLicensingFromFreeRdpDecryptsToNewLicenseRequest) {
    // FreeRDP announces SEC_LICENSE_ENCRYPT_SC and encrypts its licensing answer.
    const auto s = load_session("session_rdp_fips");
    EXPECT_TRUE(s.exchange_flags & sec::license_encrypt);
    const auto plain = replay(s);
    bool found = false;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        if (!(s.encrypted[i].flags & sec::license_pkt) || s.encrypted[i].fastpath) continue;
        ASSERT_TRUE(plain[i]);
        EXPECT_EQ(licensing::message_name(*plain[i]),
                  std::optional<std::string>("NEW_LICENSE_REQUEST"));
        found = true;
    }
    EXPECT_TRUE(found);
}

TEST(CapturedSession, WrongClientRandomFailsEveryMac) {
    auto s = load_session("session_rdp_rdesktop");
    s.client_random[0] ^= 1;
    for (const auto& p : replay(s)) EXPECT_FALSE(p);
}

// ----------------------------------------------------------------------------- vectors.json
class KatVectors : public ::testing::TestWithParam<std::string> {
  protected:
    const json& v() const { return vectors()["methods"][GetParam()]; }
    uint32_t method() const { return v()["method"]; }
    bool fips() const { return method() == encryption_method::fips; }
    SessionKeys keys() const {
        return derive(method(), unhex(vectors()["client_random"]),
                      unhex(vectors()["server_random"]));
    }
    static Bytes plaintext(const char* list, std::size_t i) { return unhex(vectors()[list][i]); }
};

TEST_P(KatVectors, DerivesTheSessionKeys) {
    const SessionKeys k = keys();
    EXPECT_EQ(k.method, method());
    EXPECT_EQ(hx(k.encrypt_key), v()["encrypt_key"]);
    EXPECT_EQ(hx(k.decrypt_key), v()["decrypt_key"]);
    if (fips()) {
        EXPECT_EQ(hx(k.hmac_key), v()["hmac_key"]);
        EXPECT_EQ(k.encrypt_key.size(), 24u);
        for (uint8_t b : k.encrypt_key) EXPECT_EQ(std::popcount(unsigned(b)) % 2, 1) << "parity";
        for (uint8_t b : k.decrypt_key) EXPECT_EQ(std::popcount(unsigned(b)) % 2, 1) << "parity";
    } else {
        EXPECT_EQ(hx(k.mac_key), v()["mac_key"]);
        EXPECT_TRUE(k.hmac_key.empty());
        const std::size_t size = method() == encryption_method::bits128 ? 16 : 8;
        EXPECT_EQ(k.mac_key.size(), size);
        EXPECT_EQ(k.encrypt_key.size(), size);
    }
}

TEST_P(KatVectors, SealsTwoConsecutiveClientPdus) {
    if (fips()) {
        StandardSecurity c = make(keys());
        for (std::size_t i = 0; i < 2; ++i) {
            const Sealed s = c.seal(plaintext("plaintexts", i)).value();
            EXPECT_EQ(hx(s.mac), v()["c2s"][i]["mac"]) << i;
            EXPECT_EQ(hx(s.data), v()["c2s"][i]["data"]) << i;
            EXPECT_EQ(s.fips_padding, int(v()["c2s"][i]["padding"])) << i;
            EXPECT_EQ(s.data.size() % 8, 0u);
        }
        return;
    }
    for (const char* form : {"c2s_plain", "c2s_salted"}) {
        const bool salted = std::string(form) == "c2s_salted";
        StandardSecurity c = make(keys());
        for (std::size_t i = 0; i < 2; ++i) {
            const Sealed s = c.seal(plaintext("plaintexts", i), salted).value();
            EXPECT_EQ(hx(s.mac), v()[form][i]["mac"]) << form << " " << i;
            EXPECT_EQ(hx(s.data), v()[form][i]["data"]) << form << " " << i;
            EXPECT_EQ(s.fips_padding, 0);
        }
        EXPECT_EQ(c.packets_sealed(), 2u);
    }
    // Same ciphertext, different MAC: the count (0, then 1) only enters the salted MAC.
    EXPECT_EQ(v()["c2s_plain"][1]["data"], v()["c2s_salted"][1]["data"]);
    EXPECT_NE(v()["c2s_plain"][1]["mac"], v()["c2s_salted"][1]["mac"]);
}

TEST_P(KatVectors, ServerPdusSealAndOpen) {
    StandardSecurity server = make(swapped(keys()));
    StandardSecurity client = make(keys());
    for (std::size_t i = 0; i < 2; ++i) {
        const Bytes p = plaintext("server_plaintexts", i);
        const json& want = v()["s2c"][i];
        const Sealed s = server.seal(p).value();
        EXPECT_EQ(hx(s.mac), want["mac"]) << i;
        EXPECT_EQ(hx(s.data), want["data"]) << i;
        Bytes data = unhex(want["data"]);
        const Bytes mac = unhex(want["mac"]);
        const uint8_t padding = fips() ? uint8_t(int(want["padding"])) : 0;
        ASSERT_TRUE(verified(client.open(data, mac.data(), false, padding))) << i;
        EXPECT_EQ(hx(data), hx(p)) << i;
    }
    EXPECT_EQ(client.packets_opened(), 2u);
}

TEST_P(KatVectors, OpenRejectsAFlippedByteOrMac) {
    const json& want = v()["s2c"][0];
    const uint8_t padding = fips() ? uint8_t(int(want["padding"])) : 0;
    for (std::size_t at = 0; at < unhex(want["data"]).size() + 8; ++at) {
        StandardSecurity client = make(keys());
        Bytes data = unhex(want["data"]);
        Bytes mac = unhex(want["mac"]);
        if (at < data.size())
            data[at] ^= 0x20;
        else
            mac[at - data.size()] ^= 0x20;
        EXPECT_FALSE(verified(client.open(data, mac.data(), false, padding))) << "byte " << at;
    }
}

class KatFips : public KatVectors {};
class KatRc4 : public KatVectors {};

TEST_P(KatFips, RejectsMalformedInput) {
    ASSERT_TRUE(fips());
    const json& want = v()["s2c"][0];
    const Bytes mac = unhex(want["mac"]);
    const Bytes good = unhex(want["data"]);
    const uint8_t padding = uint8_t(int(want["padding"]));
    ASSERT_GT(padding, 0) << "the vector should exercise padding";
    {  // not a multiple of the block size
        StandardSecurity client = make(keys());
        Bytes data(good.begin(), good.end() - 1);
        EXPECT_FALSE(verified(client.open(data, mac.data(), false, padding)));
    }
    {  // padding beyond a DES block
        StandardSecurity client = make(keys());
        Bytes data = good;
        EXPECT_FALSE(verified(client.open(data, mac.data(), false, 8)));
    }
    {  // padding longer than the data
        StandardSecurity client = make(keys());
        Bytes data;
        EXPECT_FALSE(verified(client.open(data, mac.data(), false, 1)));
    }
    {  // wrong (but in-range) padding: the MAC covers the unpadded length
        StandardSecurity client = make(keys());
        Bytes data = good;
        EXPECT_FALSE(verified(client.open(data, mac.data(), false, uint8_t(padding - 1))));
    }
    {  // and the right one still works
        StandardSecurity client = make(keys());
        Bytes data = good;
        EXPECT_TRUE(verified(client.open(data, mac.data(), false, padding)));
    }
}

TEST_P(KatRc4, KeyUpdateAfter4096PacketsAndAgainAfter8192) {
    ASSERT_FALSE(fips());
    const uint32_t interval = vectors()["key_update_interval"];
    const Bytes p = unhex(vectors()["update_plaintext"]);
    const json& c2s = v()["key_update"]["c2s"];
    const json& s2c = v()["key_update"]["s2c"];
    StandardSecurity plain = make(keys()), salted = make(keys()), server = make(swapped(keys())),
                     client = make(keys());
    const std::map<uint32_t, const char*> recorded = {{interval, "packet_4096"},
                                                      {interval + 1, "packet_4097"},
                                                      {2 * interval + 1, "packet_8193"}};
    for (uint32_t n = 1; n <= 2 * interval + 1; ++n) {
        const Sealed a = plain.seal(p).value();
        const Sealed b = salted.seal(p, true).value();
        const Sealed c = server.seal(p).value();
        ASSERT_EQ(a.data, b.data);
        if (auto it = recorded.find(n); it != recorded.end()) {
            const char* which = it->second;
            EXPECT_EQ(hx(a.mac), c2s[which]["mac"]) << which;
            EXPECT_EQ(hx(a.data), c2s[which]["data"]) << which;
            EXPECT_EQ(hx(c.mac), s2c[which]["mac"]) << which;
            EXPECT_EQ(hx(c.data), s2c[which]["data"]) << which;
        }
        if (n == interval + 1) {
            EXPECT_EQ(hx(b.mac), c2s["packet_4097_salted_mac"]);
        }
        if (n == interval + 1) {
            // The client opens the generator's #4097, which only the updated key decrypts.
            Bytes d = unhex(s2c["packet_4097"]["data"]);
            const Bytes mac = unhex(s2c["packet_4097"]["mac"]);
            ASSERT_TRUE(verified(client.open(d, mac.data(), false)));
            EXPECT_EQ(d, p);
        } else {
            Bytes d = c.data;
            ASSERT_TRUE(verified(client.open(d, c.mac.data(), false))) << n;
        }
    }
    EXPECT_EQ(plain.packets_sealed(), 2 * interval + 1);
    // #4097 and #8193 are RC4 under the recorded new keys, each from a fresh keystream...
    for (const json* dir : {&c2s, &s2c}) {
        for (auto [key, packet] : {std::pair{"key_after", "packet_4097"},
                                   std::pair{"key_after_second", "packet_8193"}}) {
            crypto::Rc4 fresh;
            EXPECT_TRUE(fresh.reset(unhex((*dir)[key])));
            Bytes x = p;
            EXPECT_TRUE(fresh.apply(x.data(), x.size()));
            EXPECT_EQ(hx(x), (*dir)[packet]["data"]) << key;
        }
    }
    EXPECT_NE(c2s["key_after"], c2s["key_after_second"]);
    // ... and not the continued keystream of the initial key.
    crypto::Rc4 old;
    EXPECT_TRUE(old.reset(keys().encrypt_key));
    Bytes stream(p.size() * (interval + 1));
    for (std::size_t i = 0; i < stream.size(); ++i) stream[i] = p[i % p.size()];
    EXPECT_TRUE(old.apply(stream.data(), stream.size()));
    EXPECT_NE(hex(ByteView(stream).last(p.size())), c2s["packet_4097"]["data"]);
    const std::size_t key_size = method() == encryption_method::bits128 ? 16 : 8;
    EXPECT_EQ(unhex(c2s["key_after"]).size(), key_size);
    EXPECT_EQ(unhex(c2s["key_after_second"]).size(), key_size);
}

std::string method_name(const ::testing::TestParamInfo<std::string>& info) {
    return info.param == "fips" ? std::string("fips") : "bits" + info.param;
}

INSTANTIATE_TEST_SUITE_P(Methods, KatVectors, ::testing::Values("40", "56", "128", "fips"),
                         method_name);
// RC4 key update (5.3.7) only exists for the RC4 methods; 3DES has none.
INSTANTIATE_TEST_SUITE_P(Methods, KatRc4, ::testing::Values("40", "56", "128"), method_name);
// Block-size and padding checks only exist for FIPS; RC4 takes any length.
INSTANTIATE_TEST_SUITE_P(Methods, KatFips, ::testing::Values("fips"), method_name);

TEST(KatVectors, ReducedKeysCarryTheirSaltPrefixes) {
    // 5.3.5.1: 40-bit keys start D1 26 9E, 56-bit D1, and both keep the 128-bit key's bytes.
    const Bytes cr = unhex(vectors()["client_random"]), sr = unhex(vectors()["server_random"]);
    const SessionKeys k128 = derive(encryption_method::bits128, cr, sr);
    const SessionKeys k40 = derive(encryption_method::bits40, cr, sr);
    const SessionKeys k56 = derive(encryption_method::bits56, cr, sr);
    using Triple = std::tuple<const Bytes*, const Bytes*, const Bytes*>;
    const Triple triples[] = {{&k128.mac_key, &k40.mac_key, &k56.mac_key},
                              {&k128.encrypt_key, &k40.encrypt_key, &k56.encrypt_key},
                              {&k128.decrypt_key, &k40.decrypt_key, &k56.decrypt_key}};
    for (auto [full, k40b, k56b] : triples) {
        EXPECT_EQ(hex(ByteView(*k40b).first(3)), "d1269e");
        EXPECT_EQ(hex(ByteView(*k40b).subspan(3)), hex(ByteView(*full).subspan(3, 5)));
        EXPECT_EQ(hex(ByteView(*k56b).first(1)), "d1");
        EXPECT_EQ(hex(ByteView(*k56b).subspan(1)), hex(ByteView(*full).subspan(1, 7)));
    }
}

TEST(KatVectors, KeysNeedOneMethodAndTwo32ByteRandoms) {
    const Bytes cr = unhex(vectors()["client_random"]), sr = unhex(vectors()["server_random"]);
    auto field_of = [](const Result<SessionKeys>& r) { return r ? "" : r.error().field; };
    EXPECT_EQ(
        field_of(derive_session_keys(encryption_method::bits128 | encryption_method::fips, cr, sr)),
        "session_keys.method");
    EXPECT_EQ(field_of(derive_session_keys(encryption_method::none, cr, sr)),
              "session_keys.method");
    EXPECT_EQ(field_of(derive_session_keys(encryption_method::bits128, ByteView(cr).first(31), sr)),
              "session_keys.client_random");
    EXPECT_EQ(field_of(derive_session_keys(encryption_method::fips, cr, ByteView())),
              "session_keys.server_random");
    EXPECT_EQ(field_of(derive_session_keys(encryption_method::bits56, cr, sr)), "");
}

// ----------------------------------------------------------------------------- primitives
TEST(CryptoPrimitives, DigestsMatchHashlib) {
    for (const auto& c : vectors()["primitives"]["md5"]) {
        const Bytes in = unhex(c["in"]);
        EXPECT_EQ(hx(crypto::md5({in}).value()), c["out"]);
        // Parts are concatenated.
        const ByteView v(in);
        const std::size_t half = in.size() / 2;
        EXPECT_EQ(hx(crypto::md5({v.first(half), ByteView(), v.subspan(half)}).value()), c["out"]);
    }
    for (const auto& c : vectors()["primitives"]["sha1"]) {
        const Bytes in = unhex(c["in"]);
        const ByteView v(in);
        EXPECT_EQ(hx(crypto::sha1({in}).value()), c["out"]);
        EXPECT_EQ(hx(crypto::sha1({v.first(in.size() / 3), v.subspan(in.size() / 3)}).value()),
                  c["out"]);
    }
}

TEST(CryptoPrimitives, HmacSha1MatchesHashlibForShortBlockSizedAndLongKeys) {
    for (const auto& c : vectors()["primitives"]["hmac_sha1"]) {
        const Bytes key = unhex(c["key"]), data = unhex(c["data"]);
        const ByteView d(data);
        EXPECT_EQ(hx(crypto::hmac_sha1(key, {d.first(3), d.subspan(3)}).value()), c["out"])
            << "key of " << key.size() << " bytes";
    }
}

TEST(CryptoPrimitives, Rc4KeystreamContinuesAcrossCalls) {
    for (const auto& c : vectors()["primitives"]["rc4"]) {
        crypto::Rc4 rc4;
        EXPECT_TRUE(rc4.reset(unhex(c["key"])));
        for (std::size_t i = 0; i < c["chunks"].size(); ++i) {
            Bytes chunk = unhex(c["chunks"][i]);
            EXPECT_TRUE(rc4.apply(chunk.data(), chunk.size()));
            EXPECT_EQ(hx(chunk), c["out"][i]) << "key " << std::string(c["key"]) << " chunk " << i;
        }
        // reset() starts over.
        EXPECT_TRUE(rc4.reset(unhex(c["key"])));
        Bytes first = unhex(c["chunks"][0]);
        EXPECT_TRUE(rc4.apply(first.data(), first.size()));
        EXPECT_EQ(hx(first), c["out"][0]);
    }
}

TEST(CryptoPrimitives, TripleDesCbcChainsAcrossCalls) {
    for (const auto& c : vectors()["primitives"]["des3_cbc"]) {
        crypto::TripleDes enc, dec;
        EXPECT_TRUE(enc.reset(unhex(c["key"]), unhex(c["iv"]), true));
        EXPECT_TRUE(dec.reset(unhex(c["key"]), unhex(c["iv"]), false));
        for (std::size_t i = 0; i < c["chunks"].size(); ++i) {
            Bytes chunk = unhex(c["chunks"][i]);
            EXPECT_TRUE(enc.apply(chunk.data(), chunk.size()));
            EXPECT_EQ(hx(chunk), c["out"][i]) << i;
            EXPECT_TRUE(dec.apply(chunk.data(), chunk.size()));
            EXPECT_EQ(hx(chunk), c["chunks"][i]) << i;
        }
    }
}

// Misuse is an Error naming the primitive, never a silent pass-through or zeros.
TEST(CryptoPrimitives, MisuseIsAnErrorNotAnException) {
    std::array<uint8_t, 8> block{};
    crypto::Rc4 rc4;
    const auto unkeyed = rc4.apply(block.data(), block.size());
    ASSERT_FALSE(unkeyed);
    EXPECT_EQ(unkeyed.error().message(), "crypto.rc4: no key set");
    crypto::TripleDes des;
    const Bytes key(24, 1), iv(8, 2);
    ASSERT_TRUE(des.reset(key, iv, true));
    const auto partial = des.apply(block.data(), 7);
    ASSERT_FALSE(partial);
    EXPECT_EQ(partial.error().message(), "crypto.3des: 7 bytes, not a multiple of 8");
    EXPECT_FALSE(des.reset(ByteView(key).first(16), iv, true));
    // A host may send a modulus of zero; m^e mod 0 has no value.
    const auto zero = crypto::rsa_public_le(Bytes(32, 1), Bytes(64, 0), 65537);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().message(), "crypto.rsa.modulus: zero");
}

// ----------------------------------------------------------------------------- RSA exchange
struct PkeyDeleter {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

Bytes bn_param_le(EVP_PKEY* key, const char* name, std::size_t size) {
    BIGNUM* bn = nullptr;
    EXPECT_TRUE(EVP_PKEY_get_bn_param(key, name, &bn));
    Bytes out(size);
    BN_bn2lebinpad(bn, out.data(), int(out.size()));
    BN_clear_free(bn);
    return out;
}

Bytes reversed(Bytes b) {
    std::reverse(b.begin(), b.end());
    return b;
}

// RSA with no padding through OpenSSL's EVP interface (big-endian, as OpenSSL wants it).
Bytes openssl_raw_rsa(EVP_PKEY* key, const Bytes& in_be, bool decrypt) {
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
        EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr), EVP_PKEY_CTX_free);
    EXPECT_EQ(decrypt ? EVP_PKEY_decrypt_init(ctx.get()) : EVP_PKEY_encrypt_init(ctx.get()), 1);
    EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING), 1);
    std::size_t len = 0;
    auto run = [&](unsigned char* out) {
        return decrypt ? EVP_PKEY_decrypt(ctx.get(), out, &len, in_be.data(), in_be.size())
                       : EVP_PKEY_encrypt(ctx.get(), out, &len, in_be.data(), in_be.size());
    };
    EXPECT_EQ(run(nullptr), 1);
    Bytes out(len);
    EXPECT_EQ(run(out.data()), 1);
    out.resize(len);
    return out;
}

TEST(RsaExchange, ClientRandomEncryptedLittleEndianDecryptsWithOpenSsl) {
    for (unsigned bits : {512u, 2048u}) {
        SCOPED_TRACE(bits);
        Pkey key(EVP_RSA_gen(bits));
        ASSERT_TRUE(key);
        const std::size_t size = bits / 8;
        const Bytes n = bn_param_le(key.get(), OSSL_PKEY_PARAM_RSA_N, size);
        const Bytes d = bn_param_le(key.get(), OSSL_PKEY_PARAM_RSA_D, size);
        ASSERT_EQ(n.back() & 0x80, 0x80) << "modulus is little-endian: top byte last";
        Bytes random(32);
        for (std::size_t i = 0; i < random.size(); ++i) random[i] = uint8_t(0xA5 ^ (i * 37));
        random[31] = 0x80;  // the high byte matters: a big-endian mix-up would show

        const Bytes c = crypto::rsa_public_le(random, n, 65537).value();
        ASSERT_EQ(c.size(), size);
        // OpenSSL decrypts the big-endian form; the result, read back little-endian, is the
        // random followed by zeros.
        const Bytes m_le = reversed(openssl_raw_rsa(key.get(), reversed(c), true));
        ASSERT_EQ(m_le.size(), size);
        EXPECT_EQ(hex(ByteView(m_le).first(32)), hex(random));
        EXPECT_TRUE(std::all_of(m_le.begin() + 32, m_le.end(), [](uint8_t b) { return b == 0; }));
        // OpenSSL's raw public operation on the big-endian random gives the same bytes.
        Bytes m_be(size, 0);
        std::copy(random.rbegin(), random.rend(), m_be.end() - 32);
        EXPECT_EQ(hx(reversed(openssl_raw_rsa(key.get(), m_be, false))), hx(c));
        // The exponent-as-bytes overload with d inverts it (what the session KATs rely on).
        const Bytes back = crypto::rsa_public_le(c, n, ByteView(d)).value();
        EXPECT_EQ(hex(ByteView(back).first(32)), hex(random));
        // The uint32 and byte forms of e agree.
        const uint8_t e_le[3] = {0x01, 0x00, 0x01};
        EXPECT_EQ(crypto::rsa_public_le(random, n, ByteView(e_le, 3)).value(), c);
    }
}

}  // namespace

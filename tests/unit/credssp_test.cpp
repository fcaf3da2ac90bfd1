// CredSSP's wire format (rdp/credssp.hpp) on real exchanges captured by
// tests/lab/capture_credssp.py (see tests/fixtures/credssp/README.md): xfreerdp 2.11 as the
// client of a GSSAPI-backed Python server, and freerdp-shadow-cli 2.11 as the server of a
// GSSAPI-backed Python client. Every TSRequest decodes and re-encodes byte for byte, every
// truncation is refused naming the field, the stream cuts at every split point; the binding
// values match what the peers actually sealed; FreeRDP's TSCredentials decode to the lab
// credentials. Also the UTF-16 helpers and Secret, the password's container.
#include <gtest/gtest.h>

#include <algorithm>
#include <concepts>
#include <ostream>
#include <string>
#include <type_traits>
#include <vector>

#include "fixtures.hpp"
#include "rdp/ber.hpp"
#include "rdp/credssp.hpp"
#include "rdp/crypto.hpp"
#include "rdp/utf16.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::rdp::credssp;
using rdpbridge::test::fixture;

namespace {

Bytes credssp_fixture(const std::string& name) {
    return fixture("credssp/" + name);
}

TsRequest decode_fixture(const std::string& name) {
    auto r = decode_ts_request(credssp_fixture(name));
    EXPECT_TRUE(r) << name << ": " << (r ? "" : r.error().message());
    return r ? *r : TsRequest{};
}

Bytes bytes_of(std::string_view text) {
    return Bytes(text.begin(), text.end());
}
std::string text_of(ByteView bytes) {
    return std::string(bytes.begin(), bytes.end());
}

// The NTLM message type of a raw NTLMSSP token (1 NEGOTIATE, 2 CHALLENGE, 3 AUTHENTICATE).
uint32_t ntlm_message_type(const Bytes& token) {
    if (token.size() < 12 || text_of(ByteView(token).first(8)) != std::string("NTLMSSP\0", 8))
        return 0;
    return load_u32le(&token[8]);
}

Bytes public_key_of(const std::string& certificate) {
    auto key = crypto::x509_subject_public_key(credssp_fixture(certificate));
    EXPECT_TRUE(key) << certificate;
    return key ? *key : Bytes{};
}

// A DER SEQUENCE around `content`, for building variants of real PDUs.
Bytes sequence(ByteView content) {
    Bytes out;
    ber::DerWriter w(out);
    w.begin(ber::kSequence);
    out.insert(out.end(), content.begin(), content.end());
    w.end();
    return out;
}

// The value of the outermost TLV of a real PDU.
ByteView body_of(const Bytes& pdu) {
    Reader r(pdu);
    auto tlv = ber::read(r, ber::kSequence, "test");
    EXPECT_TRUE(tlv);
    return tlv ? tlv->value : ByteView{};
}

void expect_error(const Result<TsRequest>& r, const std::string& field) {
    ASSERT_FALSE(r.ok()) << "accepted; expected an error naming " << field;
    EXPECT_EQ(r.error().field, field) << r.error().message();
    EXPECT_FALSE(r.error().reason.empty());
}

// ----------------------------------------------------------------------------- captured
struct Captured {
    const char* file;
    uint32_t version;
    uint32_t ntlm_message;  // type of the one negoToken, 0 for none
    bool auth_info;
    bool pub_key_auth;
    bool client_nonce;
};

std::ostream& operator<<(std::ostream& os, const Captured& c) {
    return os << c.file;
}

// Every TSRequest of tests/fixtures/credssp/, with what capture_log.json says it holds.
const Captured kCaptured[] = {
    {"xfreerdp_v6_1_client.bin", 6, 1, false, false, true},
    {"xfreerdp_v6_2_server.bin", 6, 2, false, false, false},
    {"xfreerdp_v6_3_client.bin", 6, 3, false, true, true},
    {"xfreerdp_v6_4_server.bin", 6, 0, false, true, false},
    {"xfreerdp_v6_5_client.bin", 6, 0, true, false, true},
    {"xfreerdp_v3_1_client.bin", 6, 1, false, false, true},
    {"xfreerdp_v3_2_server.bin", 3, 2, false, false, false},
    {"xfreerdp_v3_3_client.bin", 6, 3, false, true, true},
    {"xfreerdp_v3_4_server.bin", 3, 0, false, true, false},
    {"xfreerdp_v3_5_client.bin", 6, 0, true, false, true},
    {"xfreerdp_logon_failure_1_client.bin", 6, 1, false, false, true},
    {"xfreerdp_logon_failure_2_server.bin", 6, 2, false, false, false},
    {"xfreerdp_logon_failure_3_client.bin", 6, 3, false, true, true},
    {"xfreerdp_logon_failure_4_server.bin", 6, 0, false, false, false},
    {"shadow_v6_1_client.bin", 6, 1, false, false, false},
    {"shadow_v6_2_server.bin", 6, 2, false, false, true},
    {"shadow_v6_3_client.bin", 6, 3, false, true, true},
    {"shadow_v6_4_server.bin", 6, 0, false, true, true},
    {"shadow_v6_5_client.bin", 6, 0, true, false, false},
    {"shadow_logon_failure_1_client.bin", 6, 1, false, false, false},
    {"shadow_logon_failure_2_server.bin", 6, 2, false, false, true},
    {"shadow_logon_failure_3_client.bin", 6, 3, false, true, true},
};

class CapturedTsRequest : public ::testing::TestWithParam<Captured> {};

TEST_P(CapturedTsRequest, DecodesToWhatWasSent) {
    const auto& c = GetParam();
    const auto request = decode_fixture(c.file);
    EXPECT_EQ(request.version, c.version);
    if (c.ntlm_message != 0) {
        ASSERT_EQ(request.nego_tokens.size(), 1u);
        EXPECT_EQ(ntlm_message_type(request.nego_tokens[0]), c.ntlm_message);
    } else {
        EXPECT_TRUE(request.nego_tokens.empty());
    }
    EXPECT_EQ(request.auth_info.has_value(), c.auth_info);
    EXPECT_EQ(request.pub_key_auth.has_value(), c.pub_key_auth);
    EXPECT_EQ(request.client_nonce.has_value(), c.client_nonce);
}

// FreeRDP writes canonical DER, and so do the capture script's peers: decode + encode is the
// identity on every captured PDU.
TEST_P(CapturedTsRequest, ReencodesByteForByte) {
    const Bytes pdu = credssp_fixture(GetParam().file);
    auto decoded = decode_ts_request(pdu);
    ASSERT_TRUE(decoded) << decoded.error().message();
    auto encoded = encode(*decoded);
    ASSERT_TRUE(encoded) << encoded.error().message();
    EXPECT_EQ(hex(*encoded), hex(pdu));
}

TEST_P(CapturedTsRequest, EveryTruncationIsRefused) {
    const Bytes pdu = credssp_fixture(GetParam().file);
    for (std::size_t n = 0; n < pdu.size(); ++n) {
        auto r = decode_ts_request(ByteView(pdu).first(n));
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().field, "credssp.ts_request") << n;
    }
}

// Cut inside the body with the outer length fixed up to match, so the error comes from the
// field that lost its end: refused naming that field, or, cut exactly between two fields, a
// shorter TSRequest.
TEST_P(CapturedTsRequest, EveryTruncatedBodyNamesItsField) {
    const Bytes pdu = credssp_fixture(GetParam().file);
    const ByteView body = body_of(pdu);
    std::vector<std::size_t> field_ends;
    for (Reader r(body); !r.empty();) {
        auto field = ber::read(r, r.peek(), "test");
        ASSERT_TRUE(field);
        field_ends.push_back(r.position());
    }
    for (std::size_t n = 0; n < body.size(); ++n) {
        auto r = decode_ts_request(sequence(body.first(n)));
        const bool between_fields =
            std::find(field_ends.begin(), field_ends.end(), n) != field_ends.end();
        if (between_fields) {
            EXPECT_TRUE(r) << n << ": " << r.error().message();
            continue;
        }
        ASSERT_FALSE(r) << "cut at " << n << " accepted";
        EXPECT_TRUE(r.error().field.starts_with("credssp.ts_request."))
            << n << ": " << r.error().message();
    }
}

TEST_P(CapturedTsRequest, FramesWhateverTheSplit) {
    const Bytes pdu = credssp_fixture(GetParam().file);
    const Bytes next = credssp_fixture("xfreerdp_v6_4_server.bin");
    Bytes stream = pdu;
    stream.insert(stream.end(), next.begin(), next.end());
    for (std::size_t n = 0; n <= stream.size(); ++n) {
        auto size = complete_ts_request_size(ByteView(stream).first(n));
        ASSERT_TRUE(size) << n << ": " << size.error().message();
        if (n < pdu.size()) {
            EXPECT_FALSE(size->has_value()) << n;
        } else {
            ASSERT_TRUE(size->has_value()) << n;
            EXPECT_EQ(**size, pdu.size()) << n;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Credssp, CapturedTsRequest, ::testing::ValuesIn(kCaptured),
                         [](const ::testing::TestParamInfo<Captured>& info) {
                             std::string name = info.param.file;
                             name.resize(name.size() - 4);  // ".bin"
                             return name;
                         });

// ----------------------------------------------------------------------------- exchanges

TEST(CredsspExchange, FreeRdpRepeatsItsNonceAndItsVersion) {
    // FreeRDP 2.11 sends one client nonce in each of its TSRequests, and version 6 even after
    // the server answered 3: a decoder must not tie either to a step or to the peer's version.
    for (const char* run : {"xfreerdp_v6", "xfreerdp_v3"}) {
        const std::string prefix(run);
        const auto first = decode_fixture(prefix + "_1_client.bin");
        const auto third = decode_fixture(prefix + "_3_client.bin");
        const auto fifth = decode_fixture(prefix + "_5_client.bin");
        ASSERT_TRUE(first.client_nonce && third.client_nonce && fifth.client_nonce);
        EXPECT_EQ(*first.client_nonce, *third.client_nonce);
        EXPECT_EQ(*first.client_nonce, *fifth.client_nonce);
        EXPECT_EQ(fifth.version, 6u);
    }
}

TEST(CredsspExchange, ClientBindingIsWhatFreeRdpSealed) {
    const Bytes key = public_key_of("nlaserver_cert.der");
    const auto v6 = decode_fixture("xfreerdp_v6_3_client.bin");
    ASSERT_TRUE(v6.client_nonce);
    EXPECT_EQ(hex(client_binding(6, key, *v6.client_nonce).value()),
              hex(credssp_fixture("xfreerdp_v6_3_pubkeyauth_plaintext.bin")));
    // Version 3: the public key itself, whatever nonce FreeRDP also sent.
    const auto v3 = decode_fixture("xfreerdp_v3_3_client.bin");
    ASSERT_TRUE(v3.client_nonce);
    EXPECT_EQ(hex(client_binding(3, key, *v3.client_nonce).value()),
              hex(credssp_fixture("xfreerdp_v3_3_pubkeyauth_plaintext.bin")));
}

TEST(CredsspExchange, ServerBindingIsWhatFreeRdpServerSealed) {
    const Bytes key = public_key_of("shadow_cert.der");
    const auto ours = decode_fixture("shadow_v6_3_client.bin");
    ASSERT_TRUE(ours.client_nonce);
    EXPECT_EQ(hex(server_binding(6, key, *ours.client_nonce).value()),
              hex(credssp_fixture("shadow_v6_4_pubkeyauth_plaintext.bin")));
    // FreeRDP's server sends a nonce of its own with its CHALLENGE and echoes the client's.
    const auto answer = decode_fixture("shadow_v6_4_server.bin");
    ASSERT_TRUE(answer.client_nonce);
    EXPECT_EQ(*answer.client_nonce, *ours.client_nonce);
}

TEST(CredsspBinding, EchoIncrementsTheFirstByte) {
    const Bytes key = public_key_of("nlaserver_cert.der");
    ASSERT_FALSE(key.empty());
    Bytes expected = key;
    ++expected[0];
    EXPECT_EQ(server_binding(2, key, {}).value(), expected);
    EXPECT_EQ(server_binding(4, key, {}).value(), expected);
    EXPECT_EQ(server_binding(4, Bytes{0xFF, 0x01}, {}).value(), (Bytes{0x00, 0x01}));
    EXPECT_EQ(client_binding(4, key, {}).value(), key);
}

TEST(CredsspBinding, HashesDifferByDirectionAndNonce) {
    const Bytes key = public_key_of("nlaserver_cert.der");
    const Bytes nonce(kNonceSize, 0x11);
    const Bytes other(kNonceSize, 0x22);
    EXPECT_EQ(client_binding(5, key, nonce).value().size(), 32u);
    EXPECT_NE(client_binding(5, key, nonce).value(), server_binding(5, key, nonce).value());
    EXPECT_NE(client_binding(6, key, nonce).value(), client_binding(6, key, other).value());
    EXPECT_EQ(client_binding(5, key, nonce).value(), client_binding(6, key, nonce).value());
}

TEST(CredsspBinding, SubjectPublicKeyIsTheRsaPublicKey) {
    // A 2048-bit RSAPublicKey: SEQUENCE (0x30 0x82 0x01 0x0A) { INTEGER n (257 octets), e }.
    const Bytes key = public_key_of("nlaserver_cert.der");
    ASSERT_EQ(key.size(), 270u);
    EXPECT_EQ(hex(ByteView(key).first(9)), "3082010a0282010100");
    EXPECT_FALSE(crypto::x509_subject_public_key(bytes_of("not a certificate")));
    const Bytes cert = credssp_fixture("nlaserver_cert.der");
    EXPECT_FALSE(crypto::x509_subject_public_key(ByteView(cert).first(cert.size() - 1)));
}

TEST(CredsspBinding, Sha256KnownAnswer) {
    // FIPS 180-2, appendix B.1.
    const Bytes abc = bytes_of("abc");
    const auto hash = crypto::sha256({ByteView(abc).first(1), ByteView(abc).subspan(1)}).value();
    EXPECT_EQ(hex(hash), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// ----------------------------------------------------------------------------- errorCode

TEST(CredsspErrorCode, FreeRdpReadsTheSignedForm) {
    // The capture script's server sent STATUS_LOGON_FAILURE as a negative 4-octet INTEGER and
    // FreeRDP reported ERRCONNECT_LOGON_FAILURE (capture_log.json): the form encode() writes.
    const Bytes pdu = credssp_fixture("xfreerdp_logon_failure_4_server.bin");
    const auto request = decode_fixture("xfreerdp_logon_failure_4_server.bin");
    ASSERT_TRUE(request.error_code);
    EXPECT_EQ(*request.error_code, 0xC000006Du);
    EXPECT_EQ(hex(pdu), "300da003020106a4060204c000006d");
    EXPECT_EQ(error_code_to_string(*request.error_code), "STATUS_LOGON_FAILURE (0xc000006d)");
}

TEST(CredsspErrorCode, AcceptsThePositiveFiveOctetForm) {
    const Bytes positive{0x30, 0x0E, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA4,
                         0x07, 0x02, 0x05, 0x00, 0xC0, 0x00, 0x00, 0x6D};
    auto r = decode_ts_request(positive);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->error_code, std::optional<uint32_t>(0xC000006D));
    auto canonical = encode(*r);
    ASSERT_TRUE(canonical);
    EXPECT_EQ(*canonical, credssp_fixture("xfreerdp_logon_failure_4_server.bin"));
}

TEST(CredsspErrorCode, RefusesValuesBeyond32Bits) {
    // 2^32 and -2^31 - 1.
    expect_error(decode_ts_request(Bytes{0x30, 0x0E, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA4, 0x07, 0x02,
                                         0x05, 0x01, 0x00, 0x00, 0x00, 0x00}),
                 "credssp.ts_request.error_code");
    expect_error(decode_ts_request(Bytes{0x30, 0x0E, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA4, 0x07, 0x02,
                                         0x05, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF}),
                 "credssp.ts_request.error_code");
}

TEST(CredsspErrorCode, Names) {
    EXPECT_EQ(error_code_name(0xC0000234),
              std::optional<std::string_view>("STATUS_ACCOUNT_LOCKED_OUT"));
    EXPECT_EQ(error_code_name(0xC000015B),
              std::optional<std::string_view>("STATUS_LOGON_TYPE_NOT_GRANTED"));
    EXPECT_EQ(error_code_name(0x8009030C), std::optional<std::string_view>("SEC_E_LOGON_DENIED"));
    EXPECT_FALSE(error_code_name(0));
    EXPECT_EQ(error_code_to_string(0xC007052E), "Win32 error 1326 as NTSTATUS (0xc007052e)");
    EXPECT_EQ(error_code_to_string(0xC0DEC0DE), "unknown status 0xc0dec0de");
}

// ----------------------------------------------------------------------------- structure

TEST(CredsspTsRequest, AcceptsNonMinimalLengthsAndIntegers) {
    // The server's pubKeyAuth answer with its outer length in the 0x81 form and the version
    // INTEGER padded with a 0x00 octet: same value, re-encoded canonically.
    const Bytes canonical = credssp_fixture("xfreerdp_v6_4_server.bin");
    const ByteView body = body_of(canonical);
    Bytes padded{0x30, 0x81, uint8_t(body.size() + 1), 0xA0, 0x04, 0x02, 0x02, 0x00, 0x06};
    padded.insert(padded.end(), body.begin() + 5, body.end());  // after a0 03 02 01 06
    auto r = decode_ts_request(padded);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->version, 6u);
    EXPECT_EQ(*encode(*r), canonical);
}

TEST(CredsspTsRequest, RefusesWhatIsNotOneTsRequest) {
    Bytes pdu = credssp_fixture("xfreerdp_v6_4_server.bin");
    pdu.push_back(0x00);
    expect_error(decode_ts_request(pdu), "credssp.ts_request");  // trailing garbage

    // Two version INTEGERs inside [0].
    expect_error(
        decode_ts_request(Bytes{0x30, 0x08, 0xA0, 0x06, 0x02, 0x01, 0x06, 0x02, 0x01, 0x06}),
        "credssp.ts_request.version");
    // A negative version.
    expect_error(decode_ts_request(Bytes{0x30, 0x05, 0xA0, 0x03, 0x02, 0x01, 0xFF}),
                 "credssp.ts_request.version");
    // pubKeyAuth [3] before authInfo [2].
    expect_error(decode_ts_request(Bytes{0x30, 0x0F, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA3, 0x03, 0x04,
                                         0x01, 0xAA, 0xA2, 0x03, 0x04, 0x01, 0xBB}),
                 "credssp.ts_request");
    // An unknown field [6].
    expect_error(decode_ts_request(
                     Bytes{0x30, 0x0A, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA6, 0x03, 0x04, 0x01, 0xAA}),
                 "credssp.ts_request");
    // negoTokens present but empty.
    expect_error(
        decode_ts_request(Bytes{0x30, 0x09, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA1, 0x02, 0x30, 0x00}),
        "credssp.ts_request.nego_tokens");
    // An indefinite length, which DER forbids.
    expect_error(decode_ts_request(Bytes{0x30, 0x80, 0xA0, 0x03, 0x02, 0x01, 0x06, 0x00, 0x00}),
                 "credssp.ts_request");
}

TEST(CredsspTsRequest, NonceMustBe32Bytes) {
    TsRequest request;
    request.client_nonce = Bytes(31, 0x42);
    auto encoded = encode(request);
    ASSERT_FALSE(encoded);
    EXPECT_EQ(encoded.error().field, "credssp.ts_request.client_nonce");
    expect_error(decode_ts_request(
                     Bytes{0x30, 0x0A, 0xA0, 0x03, 0x02, 0x01, 0x06, 0xA5, 0x03, 0x04, 0x01, 0x42}),
                 "credssp.ts_request.client_nonce");
}

TEST(CredsspTsRequest, EncodesEveryFieldInOrder) {
    TsRequest request;
    request.version = 6;
    request.nego_tokens = {Bytes{0x01}, Bytes(300, 0x02)};
    request.auth_info = Bytes{};
    request.pub_key_auth = Bytes(200, 0x03);
    request.error_code = 0x8009030C;
    request.client_nonce = Bytes(kNonceSize, 0x04);
    auto encoded = encode(request);
    ASSERT_TRUE(encoded);
    auto decoded = decode_ts_request(*encoded);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(decoded->nego_tokens, request.nego_tokens);
    EXPECT_EQ(decoded->auth_info, request.auth_info);
    EXPECT_EQ(decoded->pub_key_auth, request.pub_key_auth);
    EXPECT_EQ(decoded->error_code, request.error_code);
    EXPECT_EQ(decoded->client_nonce, request.client_nonce);
}

TEST(CredsspTsRequest, SizeIsCapped) {
    TsRequest request;
    request.nego_tokens = {Bytes(kMaxTsRequestSize, 0x00)};
    auto encoded = encode(request);
    ASSERT_FALSE(encoded);
    EXPECT_EQ(encoded.error().field, "credssp.ts_request");
    expect_error(decode_ts_request(Bytes(kMaxTsRequestSize + 1, 0x30)), "credssp.ts_request");
}

TEST(CredsspFraming, RefusesFromTheHeaderAlone) {
    for (const Bytes& start :
         {Bytes{0x03}, Bytes{0x30, 0x80}, Bytes{0x30, 0x83}, Bytes{0x30, 0x82, 0xFF, 0xFF}}) {
        auto r = complete_ts_request_size(start);
        ASSERT_FALSE(r) << hex(start);
        EXPECT_EQ(r.error().field, "credssp.ts_request");
    }
    // The largest size allowed still waits for its body.
    const std::size_t body = kMaxTsRequestSize - 4;
    auto big = complete_ts_request_size(Bytes{0x30, 0x82, uint8_t(body >> 8), uint8_t(body)});
    ASSERT_TRUE(big);
    EXPECT_FALSE(big->has_value());
}

TEST(CredsspFraming, CutsAClientStreamIntoItsTsRequests) {
    std::vector<Bytes> pdus;
    Bytes stream;
    for (const char* name :
         {"xfreerdp_v6_1_client.bin", "xfreerdp_v6_3_client.bin", "xfreerdp_v6_5_client.bin"}) {
        pdus.push_back(credssp_fixture(name));
        stream.insert(stream.end(), pdus.back().begin(), pdus.back().end());
    }
    // Fed one byte at a time, as slowly as TLS may deliver it.
    std::vector<Bytes> cut;
    Bytes buffered;
    for (uint8_t byte : stream) {
        buffered.push_back(byte);
        auto size = complete_ts_request_size(buffered);
        ASSERT_TRUE(size) << size.error().message();
        if (!*size) continue;
        cut.emplace_back(buffered.begin(), buffered.begin() + std::ptrdiff_t(**size));
        buffered.erase(buffered.begin(), buffered.begin() + std::ptrdiff_t(**size));
    }
    EXPECT_TRUE(buffered.empty());
    EXPECT_EQ(cut, pdus);
}

// ----------------------------------------------------------------------------- TSCredentials

TEST(CredsspCredentials, FreeRdpDelegatesItsPassword) {
    const Bytes plaintext = credssp_fixture("xfreerdp_v6_5_ts_credentials.bin");
    auto decoded = decode_ts_credentials(plaintext);
    ASSERT_TRUE(decoded) << decoded.error().message();
    const auto* creds = std::get_if<PasswordCredentials>(&*decoded);
    ASSERT_NE(creds, nullptr);
    EXPECT_EQ(creds->domain, "LAB");
    EXPECT_EQ(creds->user, "labuser");
    auto password = password_to_utf8(creds->password);
    ASSERT_TRUE(password);
    EXPECT_EQ(text_of(password->view()), "labpass-Secret1");
    // Re-encoded for a host, byte for byte what FreeRDP sealed.
    auto encoded = encode_ts_credentials(*creds);
    ASSERT_TRUE(encoded) << encoded.error().message();
    EXPECT_EQ(hex(encoded->view()), hex(plaintext));
    // The version 3 run delegated the same credentials in the same bytes.
    EXPECT_EQ(credssp_fixture("xfreerdp_v3_5_ts_credentials.bin"), plaintext);
}

TEST(CredsspCredentials, RecognisesClientsThatDelegateNoPassword) {
    const std::pair<const char*, NoPassword> cases[] = {
        {"built_ts_credentials_restricted_admin.bin", NoPassword::restricted_admin},
        {"built_ts_credentials_smart_card.bin", NoPassword::smart_card},
        {"built_ts_credentials_remote_guard.bin", NoPassword::remote_credential_guard},
    };
    for (const auto& [file, kind] : cases) {
        auto decoded = decode_ts_credentials(credssp_fixture(file));
        ASSERT_TRUE(decoded) << file << ": " << decoded.error().message();
        const auto* none = std::get_if<NoPassword>(&*decoded);
        ASSERT_NE(none, nullptr) << file;
        EXPECT_EQ(*none, kind) << file;
        EXPECT_FALSE(to_string(kind).empty());
    }
}

TEST(CredsspCredentials, EveryTruncationIsRefused) {
    for (const char* file :
         {"xfreerdp_v6_5_ts_credentials.bin", "built_ts_credentials_smart_card.bin",
          "built_ts_credentials_remote_guard.bin"}) {
        const Bytes plaintext = credssp_fixture(file);
        for (std::size_t n = 0; n < plaintext.size(); ++n) {
            auto r = decode_ts_credentials(ByteView(plaintext).first(n));
            ASSERT_FALSE(r) << file << " cut at " << n;
            EXPECT_TRUE(r.error().field.starts_with("credssp.ts_credentials"))
                << r.error().message();
        }
    }
}

TEST(CredsspCredentials, RefusesUnknownTypesAndBadText) {
    // credType 3.
    auto unknown = decode_ts_credentials(
        Bytes{0x30, 0x0A, 0xA0, 0x03, 0x02, 0x01, 0x03, 0xA1, 0x03, 0x04, 0x01, 0x00});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().field, "credssp.ts_credentials.cred_type");

    PasswordCredentials creds{"LAB", "lab\xff", Secret(Bytes{'p', 0, 'w', 0})};
    auto bad_name = encode_ts_credentials(creds);
    ASSERT_FALSE(bad_name);
    EXPECT_EQ(bad_name.error().field, "credssp.ts_password_creds.user_name");

    // A user name holding a lone high surrogate (0xD800).
    creds.user = "labuser";
    auto encoded = encode_ts_credentials(creds);
    ASSERT_TRUE(encoded);
    Bytes plaintext(encoded->view().begin(), encoded->view().end());
    const Bytes utf16_u{'u', 0};
    auto at = std::search(plaintext.begin(), plaintext.end(), utf16_u.begin(), utf16_u.end());
    ASSERT_NE(at, plaintext.end());
    at[0] = 0x00;
    at[1] = 0xD8;
    auto r = decode_ts_credentials(plaintext);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "credssp.ts_password_creds.user_name");

    PasswordCredentials odd{"LAB", "labuser", Secret(bytes_of("abc"))};
    auto odd_encoded = encode_ts_credentials(odd);
    ASSERT_FALSE(odd_encoded);
    EXPECT_EQ(odd_encoded.error().field, "credssp.ts_password_creds.password");
}

TEST(CredsspCredentials, PasswordsConvertBothWays) {
    const std::string password = "p\xC3\xA4sswort-\xE2\x82\xAC-\xF0\x9F\x94\x91";  // "pässwort-€-🔑"
    auto utf16 = password_from_utf8(password);
    ASSERT_TRUE(utf16);
    EXPECT_EQ(utf16->size(), 2u * 11 + 4);  // 11 BMP characters and one surrogate pair
    auto back = password_to_utf8(*utf16);
    ASSERT_TRUE(back);
    EXPECT_EQ(text_of(back->view()), password);
    EXPECT_FALSE(password_from_utf8("\xC0\x80"));  // overlong NUL
}

// ----------------------------------------------------------------------------- HYBRID_EX

TEST(CredsspEarlyUserAuth, FourBytesLittleEndian) {
    EXPECT_EQ(encode(EarlyUserAuthResult::granted), (Bytes{0, 0, 0, 0}));
    EXPECT_EQ(encode(EarlyUserAuthResult::denied), (Bytes{5, 0, 0, 0}));
    for (auto result : {EarlyUserAuthResult::granted, EarlyUserAuthResult::denied}) {
        auto decoded = decode_early_user_auth_result(encode(result));
        ASSERT_TRUE(decoded);
        EXPECT_EQ(*decoded, result);
    }
    for (const Bytes& bad : {Bytes{0, 0, 0}, Bytes{0, 0, 0, 0, 0}, Bytes{1, 0, 0, 0}}) {
        auto r = decode_early_user_auth_result(bad);
        ASSERT_FALSE(r) << hex(bad);
        EXPECT_EQ(r.error().field, "credssp.early_user_authorization_result");
    }
}

// ----------------------------------------------------------------------------- Secret, UTF-16

template <class T>
concept Streamable = requires(std::ostream& os, const T& value) {
    os << value;
};

TEST(Secret, CannotBeCopiedOrPrinted) {
    static_assert(!std::is_copy_constructible_v<Secret>);
    static_assert(!std::is_copy_assignable_v<Secret>);
    static_assert(!Streamable<Secret>);
    static_assert(Streamable<Bytes::size_type>);  // the concept itself works
    Secret a(bytes_of("hunter2"));
    Secret b(std::move(a));
    EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): moving leaves nothing behind
    EXPECT_EQ(text_of(b.view()), "hunter2");
    Secret c;
    c = std::move(b);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(c.size(), 7u);
}

TEST(Utf16, RoundTripsEveryPlane) {
    const std::string text = "A\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E";  // A é € 𝄞
    auto utf16 = utf8_to_utf16le(text, "t");
    ASSERT_TRUE(utf16);
    EXPECT_EQ(hex(*utf16), "4100e900ac2034d81edd");
    auto back = utf16le_to_utf8(*utf16, "t");
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, text);
}

TEST(Utf16, RefusesMalformedText) {
    for (const Bytes& utf16 : {Bytes{0x41}, Bytes{0x00, 0xD8}, Bytes{0x00, 0xDC, 0x41, 0x00},
                               Bytes{0x00, 0xD8, 0x41, 0x00}}) {
        auto r = utf16le_to_utf8(utf16, "t.name");
        ASSERT_FALSE(r) << hex(utf16);
        EXPECT_EQ(r.error().field, "t.name");
    }
    for (std::string utf8 : {"\xC0\x80", "\xED\xA0\x80", "\xE2\x82", "\xF4\x90\x80\x80", "\x80"}) {
        auto r = utf8_to_utf16le(utf8, "t.name");
        ASSERT_FALSE(r) << hex(bytes_of(utf8));
        EXPECT_EQ(r.error().field, "t.name");
    }
}

}  // namespace

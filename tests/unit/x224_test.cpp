#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::expect_truncations_rejected;
using rdpbridge::test::fixture;

namespace {

ConnectionRequest decode_request_fixture(const std::string& name) {
    const Bytes bytes = fixture(name);
    auto r = decode_connection_request(bytes);
    EXPECT_TRUE(r) << name << ": " << (r ? "" : r.error().message());
    // Requests from real clients re-encode byte for byte.
    if (r) {
        EXPECT_EQ(encode(*r), bytes) << name;
    }
    return r ? *r : ConnectionRequest{};
}

ConnectionConfirm decode_confirm_fixture(const std::string& name) {
    const Bytes bytes = fixture(name);
    auto c = decode_connection_confirm(bytes);
    EXPECT_TRUE(c) << name << ": " << (c ? "" : c.error().message());
    return c ? *c : ConnectionConfirm{};
}

}  // namespace

TEST(ConnectionRequest, FreeRdpTlsOnly) {
    const auto r = decode_request_fixture("x224_cr_freerdp_tls.bin");
    ASSERT_TRUE(r.mstshash);
    EXPECT_EQ(*r.mstshash, "labuser");
    ASSERT_TRUE(r.negotiation);
    EXPECT_EQ(r.negotiation->requested_protocols, protocol::ssl);
}

TEST(ConnectionRequest, FreeRdpNegotiating) {
    const auto r = decode_request_fixture("x224_cr_freerdp_nego.bin");
    ASSERT_TRUE(r.negotiation);
    EXPECT_TRUE(r.negotiation->requested_protocols & protocol::ssl);
    EXPECT_TRUE(r.negotiation->requested_protocols & protocol::hybrid);
}

TEST(ConnectionRequest, FreeRdpStandardSecurity) {
    const auto r = decode_request_fixture("x224_cr_freerdp_rdp.bin");
    EXPECT_EQ(r.negotiation ? r.negotiation->requested_protocols : 0u, protocol::rdp);
}

TEST(ConnectionRequest, Rdesktop) {
    const auto r = decode_request_fixture("x224_cr_rdesktop.bin");
    EXPECT_TRUE(r.mstshash);
}

TEST(ConnectionRequest, RoutingTokenAndCorrelationInfoRoundTrip) {
    ConnectionRequest r;
    r.routing_token = "Cookie: msts=3640205228.15629.0000";
    r.negotiation = NegotiationRequest{neg_req_flags::correlation_info_present,
                                       protocol::ssl | protocol::hybrid | protocol::hybrid_ex};
    Bytes corr(36, 0);
    corr[0] = 0x06;
    corr[2] = 36;
    for (int i = 0; i < 16; ++i) corr[4 + i] = uint8_t(i + 1);
    r.correlation_info = corr;
    const Bytes bytes = encode(r);
    auto back = decode_connection_request(bytes);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_FALSE(back->mstshash);
    EXPECT_EQ(back->routing_token, r.routing_token);
    EXPECT_EQ(back->negotiation->flags, neg_req_flags::correlation_info_present);
    EXPECT_EQ(back->negotiation->requested_protocols, 0x0Bu);
    EXPECT_EQ(back->correlation_info, corr);
}

TEST(ConnectionRequest, BareRequestWithoutCookieOrNegotiation) {
    const Bytes bytes = encode(ConnectionRequest{});
    EXPECT_EQ(bytes, (Bytes{0x03, 0x00, 0x00, 0x0B, 0x06, 0xE0, 0, 0, 0, 0, 0}));
    auto back = decode_connection_request(bytes);
    ASSERT_TRUE(back);
    EXPECT_FALSE(back->negotiation);
}

TEST(ConnectionRequest, TruncationsRejected) {
    expect_truncations_rejected(fixture("x224_cr_freerdp_tls.bin"),
                                [](ByteView b) { return decode_connection_request(b); });
}

TEST(ConnectionRequest, MalformedInputsNameTheField) {
    Bytes good = fixture("x224_cr_freerdp_tls.bin");
    struct Case {
        std::size_t offset;
        uint8_t value;
        std::string field;
    };
    const std::size_t neg = good.size() - 8;
    for (const auto& c : std::vector<Case>{
             {0, 0x04, "tpkt.version"},
             {3, uint8_t(good[3] + 1), "tpkt.length"},
             {4, uint8_t(good[4] - 1), "x224.length_indicator"},
             {5, 0xD0, "x224.code"},
             {neg + 2, 9, "x224.rdp_neg_req.length"},
         }) {
        Bytes bad = good;
        bad[c.offset] = c.value;
        auto r = decode_connection_request(bad);
        ASSERT_FALSE(r) << c.field;
        EXPECT_EQ(r.error().field, c.field);
    }
}

TEST(ConnectionRequest, CookieWithoutTerminatorRejected) {
    ConnectionRequest r;
    r.mstshash = "user";
    Bytes bytes = encode(r);
    bytes[bytes.size() - 1] = 'x';  // the LF
    auto d = decode_connection_request(bytes);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().field, "x224.cookie");
}

TEST(ConnectionRequest, TrailingGarbageRejected) {
    Bytes bytes = fixture("x224_cr_freerdp_tls.bin");
    bytes.push_back(0x42);
    bytes[3] += 1;
    bytes[4] += 1;
    auto d = decode_connection_request(bytes);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().field, "x224.connection_request");
}

TEST(ConnectionConfirm, XrdpSelectsTls) {
    const auto c = decode_confirm_fixture("x224_cc_xrdp_tls.bin");
    const auto* rsp = std::get_if<NegotiationResponse>(&c.negotiation);
    ASSERT_TRUE(rsp);
    EXPECT_EQ(rsp->selected_protocol, protocol::ssl);
}

TEST(ConnectionConfirm, ModernXrdpSelectsTls) {
    const auto c = decode_confirm_fixture("x224_cc_xrdp_modern.bin");
    const auto* rsp = std::get_if<NegotiationResponse>(&c.negotiation);
    ASSERT_TRUE(rsp);
    EXPECT_EQ(rsp->selected_protocol, protocol::ssl);
}

TEST(ConnectionConfirm, RdpOnlyXrdpAnswersTlsOfferWithStandardSecurity) {
    // xrdp answers a TLS offer by selecting PROTOCOL_RDP, where Windows sends a failure.
    const auto c = decode_confirm_fixture("x224_cc_xrdp_rdp_negrsp.bin");
    const auto* rsp = std::get_if<NegotiationResponse>(&c.negotiation);
    ASSERT_TRUE(rsp);
    EXPECT_EQ(rsp->selected_protocol, protocol::rdp);
}

TEST(ConnectionConfirm, TlsOnlyXrdpRefusesStandardSecurity) {
    const auto c = decode_confirm_fixture("x224_cc_xrdp_tls_failure.bin");
    const auto* failure = std::get_if<NegotiationFailure>(&c.negotiation);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->code, NegFailureCode::ssl_required_by_server);
}

TEST(ConnectionConfirm, AnswerWithoutNegotiationData) {
    for (const char* name : {"x224_cc_xrdp_rdp.bin", "x224_cc_xrdp_tls_noneg.bin"}) {
        const auto c = decode_confirm_fixture(name);
        EXPECT_TRUE(std::holds_alternative<std::monostate>(c.negotiation)) << name;
    }
}

TEST(ConnectionConfirm, EveryFormRoundTrips) {
    std::vector<ConnectionConfirm> forms{ConnectionConfirm{}};
    forms.push_back(
        {NegotiationResponse{neg_rsp_flags::extended_client_data_supported, protocol::hybrid}});
    for (uint32_t code = 1; code <= 6; ++code)
        forms.push_back({NegotiationFailure{NegFailureCode(code)}});
    for (const auto& f : forms) {
        auto back = decode_connection_confirm(encode(f));
        ASSERT_TRUE(back);
        EXPECT_EQ(back->negotiation.index(), f.negotiation.index());
        EXPECT_EQ(encode(*back), encode(f));
    }
    // Pre-negotiation hosts send the bare confirm.
    EXPECT_EQ(encode(ConnectionConfirm{}).size(), 11u);
}

TEST(ConnectionConfirm, FailureCodeNames) {
    EXPECT_EQ(to_string(NegFailureCode::ssl_required_by_server), "SSL_REQUIRED_BY_SERVER");
    EXPECT_EQ(to_string(NegFailureCode::ssl_cert_not_on_server), "SSL_CERT_NOT_ON_SERVER");
    EXPECT_EQ(to_string(NegFailureCode::inconsistent_flags), "INCONSISTENT_FLAGS");
    EXPECT_EQ(to_string(NegFailureCode::hybrid_required_by_server), "HYBRID_REQUIRED_BY_SERVER");
    EXPECT_EQ(to_string(NegFailureCode::ssl_with_user_auth_required_by_server),
              "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER");
    EXPECT_EQ(to_string(NegFailureCode(99)), "UNKNOWN(99)");
}

TEST(ConnectionConfirm, UnknownNegotiationTypeRejected) {
    Bytes bytes = encode(ConnectionConfirm{NegotiationResponse{0, protocol::ssl}});
    bytes[11] = 0x07;
    auto c = decode_connection_confirm(bytes);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().field, "x224.negotiation.type");
}

TEST(ConnectionConfirm, TruncationsRejected) {
    expect_truncations_rejected(fixture("x224_cc_xrdp_tls.bin"),
                                [](ByteView b) { return decode_connection_confirm(b); });
}

TEST(Protocols, Names) {
    EXPECT_EQ(protocols_to_string(0), "RDP");
    EXPECT_EQ(protocols_to_string(0x0B), "SSL|HYBRID|HYBRID_EX");
    EXPECT_EQ(protocols_to_string(0x41), "SSL|0x00000040");
}

#include <gtest/gtest.h>

#include "rdp/negotiation.hpp"

using namespace rdpbridge::rdp;

namespace {

ConnectionRequest client_asking(uint32_t protocols) {
    ConnectionRequest r;
    r.mstshash = "alice";
    r.negotiation = NegotiationRequest{0, protocols};
    return r;
}

}  // namespace

TEST(FrontProtocol, SelectsTlsWhenOffered) {
    for (uint32_t offer :
         {protocol::ssl, protocol::ssl | protocol::hybrid, 0x0Bu, protocol::hybrid}) {
        auto s = select_front_protocol(client_asking(offer));
        ASSERT_TRUE(std::holds_alternative<uint32_t>(s)) << offer;
        EXPECT_EQ(std::get<uint32_t>(s), protocol::ssl);
    }
}

TEST(FrontProtocol, RefusesStandardSecurityOnlyClients) {
    for (const auto& r : {client_asking(protocol::rdp), ConnectionRequest{}}) {
        auto s = select_front_protocol(r);
        const auto* refusal = std::get_if<Refusal>(&s);
        ASSERT_TRUE(refusal);
        EXPECT_EQ(refusal->cause, Cause::client_offers_no_tls);
        EXPECT_EQ(refusal->tell_client, NegFailureCode::ssl_required_by_server);
    }
}

TEST(BackendRequest, CarriesCookieAndOffersWhatTheProfileAllows) {
    auto tls = backend_request(client_asking(0x0B), BackSecurity::tls);
    EXPECT_EQ(tls.mstshash, "alice");
    EXPECT_EQ(tls.negotiation->requested_protocols, protocol::ssl);
    EXPECT_EQ(backend_request(client_asking(0x0B), BackSecurity::automatic)
                  .negotiation->requested_protocols,
              protocol::ssl);
    EXPECT_EQ(
        backend_request(client_asking(0x0B), BackSecurity::rdp).negotiation->requested_protocols,
        protocol::rdp);
}

TEST(BackendConfirm, AgreementOnTls) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::tls);
    auto out = interpret_backend_confirm(
        sent, {NegotiationResponse{neg_rsp_flags::extended_client_data_supported, protocol::ssl}},
        BackSecurity::tls);
    const auto* a = std::get_if<BackendAgreement>(&out);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->selected_protocol, protocol::ssl);
}

TEST(BackendConfirm, EachFailureCodeHasItsCause) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::tls);
    const std::pair<NegFailureCode, Cause> table[] = {
        {NegFailureCode::ssl_required_by_server, Cause::host_ssl_required},
        {NegFailureCode::ssl_not_allowed_by_server, Cause::host_ssl_not_allowed},
        {NegFailureCode::ssl_cert_not_on_server, Cause::host_ssl_cert_not_on_server},
        {NegFailureCode::inconsistent_flags, Cause::host_inconsistent_flags},
        {NegFailureCode::hybrid_required_by_server, Cause::host_hybrid_required},
        {NegFailureCode::ssl_with_user_auth_required_by_server,
         Cause::host_ssl_with_user_auth_required},
        {NegFailureCode(42), Cause::host_unknown_negotiation_failure},
    };
    for (auto [code, cause] : table) {
        auto out = interpret_backend_confirm(sent, {NegotiationFailure{code}}, BackSecurity::tls);
        const auto* r = std::get_if<Refusal>(&out);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->cause, cause);
        EXPECT_NE(r->detail.find(to_string(code)), std::string::npos) << r->detail;
    }
}

TEST(BackendConfirm, PreNegotiationHost) {
    auto tls_sent = backend_request(client_asking(protocol::ssl), BackSecurity::tls);
    auto out = interpret_backend_confirm(tls_sent, ConnectionConfirm{}, BackSecurity::tls);
    ASSERT_TRUE(std::holds_alternative<Refusal>(out));
    EXPECT_EQ(std::get<Refusal>(out).cause, Cause::host_predates_negotiation);

    auto rdp_sent = backend_request(client_asking(protocol::ssl), BackSecurity::rdp);
    auto ok = interpret_backend_confirm(rdp_sent, ConnectionConfirm{}, BackSecurity::rdp);
    ASSERT_TRUE(std::holds_alternative<BackendAgreement>(ok));
    EXPECT_EQ(std::get<BackendAgreement>(ok).selected_protocol, protocol::rdp);
}

TEST(BackendConfirm, HostSelectingStandardSecurityOrUnofferedProtocol) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::tls);
    auto rdp =
        interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::rdp}}, BackSecurity::tls);
    EXPECT_EQ(std::get<Refusal>(rdp).cause, Cause::host_ssl_not_allowed);
    auto hybrid = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::hybrid}},
                                            BackSecurity::tls);
    EXPECT_EQ(std::get<Refusal>(hybrid).cause, Cause::host_selected_unoffered);
    auto two = interpret_backend_confirm(sent, {NegotiationResponse{0, 0x3}}, BackSecurity::tls);
    EXPECT_EQ(std::get<Refusal>(two).cause, Cause::host_selected_unoffered);
}

TEST(FrontConfirm, PassesOnlyEndToEndFlags) {
    const uint8_t all = 0x1F;
    auto c = front_confirm(protocol::ssl, BackendAgreement{protocol::ssl, all});
    const auto& rsp = std::get<NegotiationResponse>(c.negotiation);
    EXPECT_EQ(rsp.selected_protocol, protocol::ssl);
    EXPECT_EQ(rsp.flags, neg_rsp_flags::extended_client_data_supported |
                             neg_rsp_flags::dynvc_gfx_protocol_supported);
}

TEST(BackendConfirm, AutoSettlesOnStandardSecurity) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    // xrdp: RDP_NEG_RSP selecting PROTOCOL_RDP; XP: a confirm without negotiation data.
    for (const ConnectionConfirm& answer :
         {ConnectionConfirm{NegotiationResponse{1, protocol::rdp}}, ConnectionConfirm{}}) {
        auto out = interpret_backend_confirm(sent, answer, BackSecurity::automatic);
        ASSERT_TRUE(std::holds_alternative<BackendAgreement>(out));
        EXPECT_EQ(std::get<BackendAgreement>(out).selected_protocol, protocol::rdp);
    }
    // Windows 2003 SP1+: RDP_NEG_FAILURE, connection closed: retry asking for RDP.
    auto out = interpret_backend_confirm(
        sent, {NegotiationFailure{NegFailureCode::ssl_not_allowed_by_server}},
        BackSecurity::automatic);
    ASSERT_TRUE(std::holds_alternative<Refusal>(out));
    EXPECT_TRUE(std::get<Refusal>(out).retry_with_standard_security);
    auto tls_only = interpret_backend_confirm(
        sent, {NegotiationFailure{NegFailureCode::ssl_not_allowed_by_server}}, BackSecurity::tls);
    EXPECT_FALSE(std::get<Refusal>(tls_only).retry_with_standard_security);
}

TEST(FrontProtocol, RunsNlaForClientsThatAskWhenTheListenerDoes) {
    for (auto nla : {FrontNla::offer, FrontNla::require}) {
        auto ex = select_front_protocol(client_asking(0x0B), nla);  // SSL|HYBRID|HYBRID_EX
        EXPECT_EQ(std::get<uint32_t>(ex), protocol::hybrid_ex);
        auto hybrid = select_front_protocol(client_asking(protocol::ssl | protocol::hybrid), nla);
        EXPECT_EQ(std::get<uint32_t>(hybrid), protocol::hybrid);
    }
    // NLA off: a client that asks for it still gets TLS and logs on at the host.
    auto off = select_front_protocol(client_asking(0x0B), FrontNla::off);
    EXPECT_EQ(std::get<uint32_t>(off), protocol::ssl);
    // offer: a client without NLA gets TLS.
    auto plain = select_front_protocol(client_asking(protocol::ssl), FrontNla::offer);
    EXPECT_EQ(std::get<uint32_t>(plain), protocol::ssl);
}

TEST(FrontProtocol, RequireRefusesClientsWithoutNla) {
    auto s = select_front_protocol(client_asking(protocol::ssl), FrontNla::require);
    const auto* refusal = std::get_if<Refusal>(&s);
    ASSERT_TRUE(refusal);
    EXPECT_EQ(refusal->cause, Cause::client_offers_no_nla);
    EXPECT_EQ(refusal->tell_client, NegFailureCode::hybrid_required_by_server);
}

TEST(BackendRequest, OffersHybridOnlyWithCredentialsAndTls) {
    EXPECT_EQ(backend_request(client_asking(0x0B), BackSecurity::tls, true)
                  .negotiation->requested_protocols,
              protocol::ssl | protocol::hybrid);
    EXPECT_EQ(backend_request(client_asking(0x0B), BackSecurity::automatic, true)
                  .negotiation->requested_protocols,
              protocol::ssl | protocol::hybrid);
    EXPECT_EQ(backend_request(client_asking(0x0B), BackSecurity::rdp, true)
                  .negotiation->requested_protocols,
              protocol::rdp);
    // The host selecting HYBRID from that offer is an agreement.
    const auto sent = backend_request(client_asking(0x0B), BackSecurity::tls, true);
    auto out = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::hybrid}},
                                         BackSecurity::tls);
    ASSERT_TRUE(std::holds_alternative<BackendAgreement>(out));
    EXPECT_EQ(std::get<BackendAgreement>(out).selected_protocol, protocol::hybrid);
}

// Host identity over time: what the host showed before decides whether a weaker answer now is
// taken (first contact, `auto`) or refused as a downgrade.
namespace {

HostHistory seen_with(bool tls, bool nla, bool rdp = false) {
    HostHistory h;
    h.seen = SecurityLayers{tls, nla, rdp};
    return h;
}

Cause refusal_cause(const std::variant<BackendAgreement, Refusal>& out) {
    const auto* r = std::get_if<Refusal>(&out);
    EXPECT_TRUE(r != nullptr);
    return r ? r->cause : Cause::internal_error;
}

}  // namespace

TEST(BackendConfirmHistory, FirstContactFallsBackToStandardSecurity) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    auto out = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::rdp}},
                                         BackSecurity::automatic, HostHistory{});
    ASSERT_TRUE(std::holds_alternative<BackendAgreement>(out));
    EXPECT_EQ(std::get<BackendAgreement>(out).selected_protocol, protocol::rdp);
}

TEST(BackendConfirmHistory, HostSeenWithTlsSelectingRdpIsADowngrade) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    auto out = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::rdp}},
                                         BackSecurity::automatic, seen_with(true, false));
    EXPECT_EQ(refusal_cause(out), Cause::host_security_downgrade);
    const auto& r = std::get<Refusal>(out);
    EXPECT_FALSE(r.retry_with_standard_security);
    EXPECT_NE(r.detail.find("seen with TLS"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("PROTOCOL_RDP"), std::string::npos) << r.detail;
}

TEST(BackendConfirmHistory, HostSeenWithTlsRefusingSslIsADowngradeWithoutRetry) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    auto out = interpret_backend_confirm(
        sent, {NegotiationFailure{NegFailureCode::ssl_not_allowed_by_server}},
        BackSecurity::automatic, seen_with(true, true));
    EXPECT_EQ(refusal_cause(out), Cause::host_security_downgrade);
    EXPECT_FALSE(std::get<Refusal>(out).retry_with_standard_security);
    // Without history the same answer is the usual fall-back, by reconnecting.
    auto first = interpret_backend_confirm(
        sent, {NegotiationFailure{NegFailureCode::ssl_not_allowed_by_server}},
        BackSecurity::automatic, HostHistory{});
    EXPECT_TRUE(std::get<Refusal>(first).retry_with_standard_security);
}

TEST(BackendConfirmHistory, HostSeenWithTlsAnsweringWithoutNegotiationIsADowngrade) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    auto out = interpret_backend_confirm(sent, {std::monostate{}}, BackSecurity::automatic,
                                         seen_with(true, false));
    EXPECT_EQ(refusal_cause(out), Cause::host_security_downgrade);
}

TEST(BackendConfirmHistory, TlsOnlyBackendNamesTheDowngradeToo) {
    // With security = "tls" the answer is refused either way; history makes the cause exact.
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::tls);
    auto out = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::rdp}},
                                         BackSecurity::tls, seen_with(true, false));
    EXPECT_EQ(refusal_cause(out), Cause::host_security_downgrade);
    auto fresh = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::rdp}},
                                           BackSecurity::tls, HostHistory{});
    EXPECT_EQ(refusal_cause(fresh), Cause::host_ssl_not_allowed);
}

TEST(BackendConfirmHistory, HostSeenWithNlaSelectingPlainTlsIsADowngrade) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic, true);
    auto out = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::ssl}},
                                         BackSecurity::automatic, seen_with(true, true));
    EXPECT_EQ(refusal_cause(out), Cause::host_security_downgrade);
    EXPECT_NE(std::get<Refusal>(out).detail.find("no NLA"), std::string::npos);
    // Not offered HYBRID (no credentials to delegate): plain TLS is what was asked for.
    const auto tls_only = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    auto ok = interpret_backend_confirm(tls_only, {NegotiationResponse{0, protocol::ssl}},
                                        BackSecurity::automatic, seen_with(true, true));
    EXPECT_TRUE(std::holds_alternative<BackendAgreement>(ok));
}

TEST(BackendConfirmHistory, HostSeenOnlyWithStandardSecurityMayKeepIt) {
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    auto out = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::rdp}},
                                         BackSecurity::automatic, seen_with(false, false, true));
    EXPECT_TRUE(std::holds_alternative<BackendAgreement>(out));
}

TEST(BackendConfirmHistory, PinWithoutRdpKeyRefusesTheFallBack) {
    HostHistory strict;
    strict.rdp_key_unverifiable = true;
    const auto sent = backend_request(client_asking(protocol::ssl), BackSecurity::automatic);
    for (const ConnectionConfirm& answer :
         {ConnectionConfirm{NegotiationResponse{0, protocol::rdp}},
          ConnectionConfirm{NegotiationFailure{NegFailureCode::ssl_not_allowed_by_server}},
          ConnectionConfirm{std::monostate{}}}) {
        auto out = interpret_backend_confirm(sent, answer, BackSecurity::automatic, strict);
        EXPECT_EQ(refusal_cause(out), Cause::host_rdp_key_not_pinned);
        EXPECT_FALSE(std::get<Refusal>(out).retry_with_standard_security);
    }
    // A TLS answer is not affected.
    auto tls = interpret_backend_confirm(sent, {NegotiationResponse{0, protocol::ssl}},
                                         BackSecurity::automatic, strict);
    EXPECT_TRUE(std::holds_alternative<BackendAgreement>(tls));
    // Nor is a backend that asks for Standard RDP Security itself (its key pin is checked later).
    const auto rdp = backend_request(client_asking(protocol::ssl), BackSecurity::rdp);
    auto own = interpret_backend_confirm(rdp, {NegotiationResponse{0, protocol::rdp}},
                                         BackSecurity::rdp, strict);
    EXPECT_TRUE(std::holds_alternative<BackendAgreement>(own));
}

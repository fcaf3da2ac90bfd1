// GSS-API initial-context-token framing (rdp/gss_token.hpp) on the NTLMSSP tokens of the real
// CredSSP captures in tests/fixtures/credssp/. FreeRDP 2 sends them raw; the SPNEGO and Kerberos
// framings are put around the same captured tokens here, with the OIDs rdp/ declares, since no
// captured peer sent one (nla_gss_test classifies gss-ntlmssp's own SPNEGO token).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fixtures.hpp"
#include "nego_token_fixture.hpp"
#include "rdp/ber.hpp"
#include "rdp/credssp.hpp"
#include "rdp/gss_token.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::rdp::gss;
using rdpbridge::test::expect_truncations_rejected;
using rdpbridge::test::nego_token;

namespace {

// One token of each NTLM message type, from both captured peers.
const std::vector<std::string> kTokenFixtures = {
    "xfreerdp_v6_1_client.bin", "xfreerdp_v6_2_server.bin", "xfreerdp_v6_3_client.bin",
    "shadow_v6_1_client.bin",   "shadow_v6_2_server.bin",   "shadow_v6_3_client.bin",
};

Bytes framed(ByteView oid, ByteView inner) {
    Bytes out;
    ber::DerWriter w(out);
    w.begin(kInitialContextTokenTag);
    w.begin(kOidTag);
    out.insert(out.end(), oid.begin(), oid.end());
    w.end();
    out.insert(out.end(), inner.begin(), inner.end());
    w.end();
    return out;
}

std::string field_of(const Result<InitialContextToken>& r) {
    return r ? "(decoded)" : r.error().field;
}

}  // namespace

TEST(GssToken, CapturedNtlmTokensAreRawNtlmssp) {
    for (const auto& name : kTokenFixtures) {
        Bytes token = nego_token(name);
        auto first = classify_first_token(token);
        ASSERT_TRUE(first) << name << ": " << first.error().message();
        EXPECT_EQ(first->framing, Framing::raw_ntlmssp) << name;
        EXPECT_EQ(first->mechanism, Mechanism::ntlm) << name;
        EXPECT_TRUE(first->oid.empty()) << name;
    }
}

TEST(GssToken, SpnegoFramingAroundCapturedTokens) {
    // NEGOTIATE is short enough for a one-octet length, AUTHENTICATE needs the 0x82 form.
    for (const auto& name : kTokenFixtures) {
        Bytes inner = nego_token(name);
        Bytes token = framed(kSpnegoOid, inner);
        auto decoded = decode_initial_context_token(token);
        ASSERT_TRUE(decoded) << name << ": " << decoded.error().message();
        EXPECT_TRUE(std::ranges::equal(decoded->mechanism, kSpnegoOid)) << name;
        EXPECT_TRUE(std::ranges::equal(decoded->inner, inner)) << name;

        auto first = classify_first_token(token);
        ASSERT_TRUE(first) << name << ": " << first.error().message();
        EXPECT_EQ(first->framing, Framing::initial_context_token);
        EXPECT_EQ(first->mechanism, Mechanism::spnego);
        EXPECT_TRUE(std::ranges::equal(first->oid, kSpnegoOid));
    }
    EXPECT_EQ(framed(kSpnegoOid, nego_token("xfreerdp_v6_3_client.bin"))[1], 0x82);
}

TEST(GssToken, MechanismOfEachOid) {
    Bytes inner = nego_token("xfreerdp_v6_1_client.bin");
    struct {
        ByteView oid;
        Mechanism mechanism;
    } const cases[] = {
        {kNtlmOid, Mechanism::ntlm},
        {kSpnegoOid, Mechanism::spnego},
        {kKrb5Oid, Mechanism::kerberos},
        {kMsKrb5Oid, Mechanism::kerberos},
        {ByteView(kNtlmOid).first(9), Mechanism::other},  // a prefix is another OID
        {ByteView(kKrb5Oid).first(1), Mechanism::other},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(mechanism_of(c.oid), c.mechanism) << hex(c.oid);
        Bytes token = framed(c.oid, inner);
        auto first = classify_first_token(token);
        ASSERT_TRUE(first) << hex(c.oid) << ": " << first.error().message();
        EXPECT_EQ(first->mechanism, c.mechanism) << hex(c.oid);
        EXPECT_TRUE(std::ranges::equal(first->oid, c.oid)) << hex(c.oid);
    }
}

TEST(GssToken, EveryTruncationIsRefused) {
    for (const auto& name : {"xfreerdp_v6_1_client.bin", "xfreerdp_v6_3_client.bin"}) {
        Bytes token = framed(kSpnegoOid, nego_token(name));
        expect_truncations_rejected(token,
                                    [](ByteView b) { return decode_initial_context_token(b); });
        expect_truncations_rejected(token, [](ByteView b) { return classify_first_token(b); });
    }
}

TEST(GssToken, LengthMustCoverExactlyTheRest) {
    Bytes token = framed(kSpnegoOid, nego_token("xfreerdp_v6_1_client.bin"));
    ASSERT_LT(token[1], 0x80);

    Bytes oversized = token;
    ++oversized[1];
    auto r = decode_initial_context_token(oversized);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().field, "gss.initial_context_token.length");
    EXPECT_NE(r.error().reason.find("announces"), std::string::npos) << r.error().message();

    Bytes trailing = token;
    trailing.push_back(0);
    EXPECT_EQ(field_of(decode_initial_context_token(trailing)), "gss.initial_context_token.length");
    EXPECT_FALSE(classify_first_token(trailing));

    // A long-form length announcing far more than a TSRequest can carry.
    Bytes huge = {kInitialContextTokenTag, 0x84, 0x7f, 0xff, 0xff, 0xff, kOidTag, 0x01, 0x2a};
    EXPECT_EQ(field_of(decode_initial_context_token(huge)), "gss.initial_context_token");
    Bytes indefinite = token;
    indefinite[1] = 0x80;
    EXPECT_EQ(field_of(decode_initial_context_token(indefinite)), "gss.initial_context_token");
}

TEST(GssToken, WrongTagsNameTheField) {
    Bytes token = framed(kSpnegoOid, nego_token("xfreerdp_v6_1_client.bin"));

    Bytes wrong_outer = token;
    wrong_outer[0] = 0x30;
    auto outer = decode_initial_context_token(wrong_outer);
    ASSERT_FALSE(outer);
    EXPECT_EQ(outer.error().field, "gss.initial_context_token");
    EXPECT_NE(outer.error().reason.find("0x60"), std::string::npos) << outer.error().message();
    auto first = classify_first_token(wrong_outer);
    ASSERT_FALSE(first);
    EXPECT_EQ(first.error().field, "gss.first_token");
    EXPECT_NE(first.error().reason.find("first byte 30"), std::string::npos);

    Bytes wrong_oid_tag = token;
    wrong_oid_tag[2] = 0x04;
    EXPECT_EQ(field_of(decode_initial_context_token(wrong_oid_tag)),
              "gss.initial_context_token.this_mech");

    Bytes oid_past_end = {kInitialContextTokenTag, 0x03, kOidTag, 0x05, 0x2b};
    EXPECT_EQ(field_of(decode_initial_context_token(oid_past_end)),
              "gss.initial_context_token.this_mech");

    Bytes empty_oid = framed({}, nego_token("xfreerdp_v6_1_client.bin"));
    auto e = decode_initial_context_token(empty_oid);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(), "gss.initial_context_token.this_mech: empty OID");
}

TEST(GssToken, EmptyAndUnframedTokens) {
    auto empty = classify_first_token({});
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().message(), "gss.first_token: empty");

    // The signature alone decides "raw NTLMSSP"; a shorter prefix of it is just garbage.
    Bytes negotiate = nego_token("shadow_v6_1_client.bin");
    EXPECT_TRUE(classify_first_token(ByteView(negotiate).first(8)));
    auto short_prefix = classify_first_token(ByteView(negotiate).first(7));
    ASSERT_FALSE(short_prefix);
    EXPECT_EQ(short_prefix.error().field, "gss.first_token");
}

// NTLMSSP recognition and the CHALLENGE charset fix-up (rdp/ntlmssp.hpp) on the real tokens of
// tests/fixtures/credssp/: freerdp-shadow's CHALLENGE sets both UNICODE and OEM (the case the
// fix-up exists for), gss-ntlmssp's (the xfreerdp runs' server) only UNICODE.
#include <gtest/gtest.h>

#include <string>

#include "nego_token_fixture.hpp"
#include "rdp/credssp.hpp"
#include "rdp/ntlmssp.hpp"

using namespace rdpbridge::rdp;
using namespace rdpbridge::rdp::ntlmssp;
using rdpbridge::test::nego_token;

TEST(Ntlmssp, CapturedMessagesHaveTheirTypes) {
    struct {
        const char* fixture;
        MessageType type;
    } const cases[] = {
        {"xfreerdp_v6_1_client.bin", MessageType::negotiate},
        {"xfreerdp_v6_2_server.bin", MessageType::challenge},
        {"xfreerdp_v6_3_client.bin", MessageType::authenticate},
        {"shadow_v6_1_client.bin", MessageType::negotiate},
        {"shadow_v6_2_server.bin", MessageType::challenge},
        {"shadow_v6_3_client.bin", MessageType::authenticate},
        {"xfreerdp_logon_failure_3_client.bin", MessageType::authenticate},
    };
    for (const auto& c : cases) {
        Bytes token = nego_token(c.fixture);
        EXPECT_TRUE(has_signature(token)) << c.fixture;
        auto type = read_message_type(token);
        ASSERT_TRUE(type) << c.fixture << ": " << type.error().message();
        EXPECT_EQ(*type, c.type) << c.fixture;
    }
}

TEST(Ntlmssp, FreeRdpChallengeLosesOemOnly) {
    Bytes challenge = nego_token("shadow_v6_2_server.bin");
    auto flags = read_challenge_flags(challenge);
    ASSERT_TRUE(flags) << flags.error().message();
    ASSERT_TRUE(*flags & kNegotiateUnicode);
    ASSERT_TRUE(*flags & kNegotiateOem);

    Bytes fixed = prefer_unicode(challenge);
    ASSERT_EQ(fixed.size(), challenge.size());
    auto fixed_flags = read_challenge_flags(fixed);
    ASSERT_TRUE(fixed_flags);
    EXPECT_EQ(*fixed_flags, *flags & ~kNegotiateOem);
    std::size_t differing = 0;
    for (std::size_t i = 0; i < fixed.size(); ++i) differing += fixed[i] != challenge[i];
    EXPECT_EQ(differing, 1u);  // the flags' low byte, nothing else
}

TEST(Ntlmssp, EverythingElsePassesUnchanged) {
    for (const char* name : {"xfreerdp_v6_2_server.bin", "xfreerdp_v6_1_client.bin",
                             "shadow_v6_1_client.bin", "shadow_v6_3_client.bin"}) {
        Bytes token = nego_token(name);
        EXPECT_EQ(prefer_unicode(token), token) << name;
    }
    auto gss_ntlmssp = read_challenge_flags(nego_token("xfreerdp_v6_2_server.bin"));
    ASSERT_TRUE(gss_ntlmssp);
    EXPECT_FALSE(*gss_ntlmssp & kNegotiateOem);

    // A CHALLENGE cut short of its flags, an empty token, a GSS-API token: untouched, no throw.
    Bytes challenge = nego_token("shadow_v6_2_server.bin");
    for (std::size_t n = 0; n < 24; ++n) {
        Bytes cut(challenge.begin(), challenge.begin() + long(n));
        EXPECT_EQ(prefer_unicode(cut), cut) << n;
    }
    Bytes framed = {0x60, 0x02, 0x06, 0x00};
    EXPECT_EQ(prefer_unicode(framed), framed);
}

TEST(Ntlmssp, TruncatedChallengeNamesTheField) {
    Bytes challenge = nego_token("shadow_v6_2_server.bin");
    auto field_at = [&](std::size_t n) {
        auto r = read_challenge_flags(ByteView(challenge).first(n));
        return r ? std::string("(read)") : r.error().field;
    };
    EXPECT_EQ(field_at(0), "ntlmssp.signature");
    EXPECT_EQ(field_at(7), "ntlmssp.signature");
    EXPECT_EQ(field_at(8), "ntlmssp.message_type");
    EXPECT_EQ(field_at(11), "ntlmssp.message_type");
    EXPECT_EQ(field_at(12), "ntlmssp.challenge.target_name_fields");
    EXPECT_EQ(field_at(20), "ntlmssp.challenge.negotiate_flags");
    EXPECT_EQ(field_at(23), "ntlmssp.challenge.negotiate_flags");
    EXPECT_EQ(field_at(24), "(read)");
}

TEST(Ntlmssp, WrongSignatureOrTypeNamesTheField) {
    Bytes challenge = nego_token("shadow_v6_2_server.bin");

    Bytes wrong_signature = challenge;
    wrong_signature[7] = 'X';
    EXPECT_FALSE(has_signature(wrong_signature));
    auto s = read_message_type(wrong_signature);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().field, "ntlmssp.signature");
    EXPECT_EQ(prefer_unicode(wrong_signature), wrong_signature);

    auto negotiate = read_challenge_flags(nego_token("shadow_v6_1_client.bin"));
    ASSERT_FALSE(negotiate);
    EXPECT_EQ(negotiate.error().message(), "ntlmssp.message_type: expected CHALLENGE (2), got 1");
}

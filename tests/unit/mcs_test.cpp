#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::expect_truncations_rejected;
using rdpbridge::test::fixture;

namespace {

Result<mcs::ConnectPdu> decode_initial_frame(ByteView frame) {
    auto payload = unwrap_x224_data(frame);
    if (!payload) return payload.error();
    return mcs::decode_connect_initial(*payload);
}

Result<mcs::ConnectPdu> decode_response_frame(ByteView frame) {
    auto payload = unwrap_x224_data(frame);
    if (!payload) return payload.error();
    return mcs::decode_connect_response(*payload);
}

}  // namespace

class ConnectInitialFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ConnectInitialFixture, DecodesAndReencodesExactly) {
    const Bytes bytes = fixture(GetParam());
    auto ci = decode_initial_frame(bytes);
    ASSERT_TRUE(ci) << ci.error().message();
    ASSERT_TRUE(ci->conference.find(gcc::block::cs_core));
    ASSERT_TRUE(ci->conference.find(gcc::block::cs_security));
    auto encoded = mcs::encode(*ci);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, bytes);
}

TEST_P(ConnectInitialFixture, TruncationsRejected) {
    const Bytes bytes = fixture(GetParam());
    expect_truncations_rejected(bytes, [](ByteView b) { return decode_initial_frame(b); });
}

INSTANTIATE_TEST_SUITE_P(Captured, ConnectInitialFixture,
                         ::testing::Values("mcs_connect_initial_freerdp.bin",
                                           "mcs_connect_initial_freerdp_tls.bin"));

TEST(ConnectInitial, ServerSelectedProtocolMatchesTheLeg) {
    auto tls = decode_initial_frame(fixture("mcs_connect_initial_freerdp_tls.bin"));
    ASSERT_TRUE(tls);
    EXPECT_EQ(gcc::server_selected_protocol(*tls->conference.find(gcc::block::cs_core)),
              protocol::ssl);
    auto rdp = decode_initial_frame(fixture("mcs_connect_initial_freerdp.bin"));
    ASSERT_TRUE(rdp);
    EXPECT_EQ(gcc::server_selected_protocol(*rdp->conference.find(gcc::block::cs_core)),
              protocol::rdp);
}

TEST(ConnectInitial, RewritingServerSelectedProtocolSurvivesReencoding) {
    auto ci = decode_initial_frame(fixture("mcs_connect_initial_freerdp_tls.bin"));
    ASSERT_TRUE(ci);
    auto* core = ci->conference.find(gcc::block::cs_core);
    ASSERT_TRUE(gcc::set_server_selected_protocol(*core, protocol::rdp));
    auto encoded = mcs::encode(*ci);
    ASSERT_TRUE(encoded);
    auto again = decode_initial_frame(*encoded);
    ASSERT_TRUE(again);
    EXPECT_EQ(gcc::server_selected_protocol(*again->conference.find(gcc::block::cs_core)),
              protocol::rdp);
}

TEST(ConnectInitial, GrowingABlockUpdatesEveryEnclosingLength) {
    auto ci = decode_initial_frame(fixture("mcs_connect_initial_freerdp_tls.bin"));
    ASSERT_TRUE(ci);
    // 300 extra bytes push the PER and BER lengths across their one-/two-octet boundaries.
    ci->conference.blocks.push_back({0xC0FF, Bytes(300, 0x5A)});
    auto encoded = mcs::encode(*ci);
    ASSERT_TRUE(encoded);
    auto header = peek_frame(*encoded);
    ASSERT_TRUE(header && *header);
    EXPECT_EQ((*header)->length, encoded->size());
    auto again = decode_initial_frame(*encoded);
    ASSERT_TRUE(again) << again.error().message();
    ASSERT_TRUE(again->conference.find(0xC0FF));
    EXPECT_EQ(again->conference.find(0xC0FF)->body.size(), 300u);
}

TEST(ConnectInitial, ChannelNames) {
    auto ci = decode_initial_frame(fixture("mcs_connect_initial_freerdp_tls.bin"));
    ASSERT_TRUE(ci);
    const auto* net = ci->conference.find(gcc::block::cs_net);
    ASSERT_TRUE(net);
    auto names = gcc::channel_names(*net);
    ASSERT_TRUE(names);
    EXPECT_FALSE(names->empty());
}

TEST(ConnectInitial, ChannelCountBeyondBlockRejected) {
    gcc::DataBlock net{gcc::block::cs_net, Bytes{0xFF, 0xFF, 0xFF, 0x0F}};
    auto names = gcc::channel_names(net);
    ASSERT_FALSE(names);
    EXPECT_EQ(names.error().field, "gcc.cs_net.channel_count");
}

TEST(ConnectInitial, WrongApplicationTagNamed) {
    Bytes bytes = fixture("mcs_connect_initial_freerdp_tls.bin");
    bytes[8] = 0x66;  // 7F 65 -> 7F 66
    auto ci = decode_initial_frame(bytes);
    ASSERT_FALSE(ci);
    EXPECT_EQ(ci.error().field, "mcs.connect_initial");
}

TEST(ConnectInitial, BlockLengthShorterThanHeaderRejected) {
    auto ci = decode_initial_frame(fixture("mcs_connect_initial_freerdp_tls.bin"));
    ASSERT_TRUE(ci);
    auto cc = gcc::encode(ci->conference);
    // Corrupt the first block's length (the 4 bytes after the user-data PER length).
    Bytes user_data = cc;
    const std::size_t first_block = user_data.size() - [&] {
        std::size_t total = 0;
        for (const auto& b : ci->conference.blocks) total += b.body.size() + 4;
        return total;
    }();
    user_data[first_block + 2] = 2;
    user_data[first_block + 3] = 0;
    auto bad = gcc::decode(user_data, gcc::Direction::request);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().field, "gcc.data_block.length");
}

class ConnectResponseFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ConnectResponseFixture, DecodesAndReencodesExactly) {
    const Bytes bytes = fixture(GetParam());
    auto cr = decode_response_frame(bytes);
    ASSERT_TRUE(cr) << cr.error().message();
    ASSERT_TRUE(cr->conference.find(gcc::block::sc_core));
    ASSERT_TRUE(cr->conference.find(gcc::block::sc_security));
    auto encoded = mcs::encode(*cr);
    ASSERT_TRUE(encoded);
    EXPECT_EQ(*encoded, bytes);
}

TEST_P(ConnectResponseFixture, TruncationsRejected) {
    expect_truncations_rejected(fixture(GetParam()),
                                [](ByteView b) { return decode_response_frame(b); });
}

INSTANTIATE_TEST_SUITE_P(Captured, ConnectResponseFixture,
                         ::testing::Values("mcs_connect_response_xrdp_rdp.bin",
                                           "mcs_connect_response_xrdp_tls.bin"));

TEST(ConnectResponse, ClientRequestedProtocolsRewrite) {
    auto cr = decode_response_frame(fixture("mcs_connect_response_xrdp_tls.bin"));
    ASSERT_TRUE(cr);
    auto* core = cr->conference.find(gcc::block::sc_core);
    ASSERT_TRUE(gcc::client_requested_protocols(*core));
    EXPECT_EQ(*gcc::client_requested_protocols(*core), protocol::ssl);
    ASSERT_TRUE(gcc::set_client_requested_protocols(*core, 0x0B));
    auto again = decode_response_frame(*mcs::encode(*cr));
    ASSERT_TRUE(again);
    EXPECT_EQ(*gcc::client_requested_protocols(*again->conference.find(gcc::block::sc_core)),
              0x0Bu);
}

TEST(ConnectResponse, ServerVersion) {
    auto cr = decode_response_frame(fixture("mcs_connect_response_xrdp_rdp.bin"));
    ASSERT_TRUE(cr);
    EXPECT_EQ(gcc::server_version(*cr->conference.find(gcc::block::sc_core)), 0x00080004u);
    EXPECT_FALSE(gcc::server_version(gcc::DataBlock{gcc::block::sc_core, {0x04, 0x00, 0x08}}));
}

TEST(DomainPdu, XrdpsUltimatumIsRecognised) {
    const Bytes ultimatum = fixture("session_rdp/s2c_09.bin");  // reason 3, rn-user-requested
    auto payload = unwrap_x224_data(ultimatum);
    ASSERT_TRUE(payload) << payload.error().message();
    EXPECT_TRUE(mcs::is_disconnect_ultimatum(*payload));
    EXPECT_FALSE(mcs::is_disconnect_ultimatum(payload->first(1)));  // the reason is cut off
    auto response = fixture("mcs_connect_response_xrdp_rdp.bin");
    EXPECT_FALSE(mcs::is_disconnect_ultimatum(*unwrap_x224_data(response)));
}

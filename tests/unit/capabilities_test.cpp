// The host's Demand Active as the channel policy edits it (rdp/capabilities.hpp): xrdp's real one
// (no Virtual Channel Capability Set: nothing to take back) and one shaped like Windows', which
// offers client-to-server channel compression.
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "rdp/capabilities.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::expect_truncations_rejected;
using rdpbridge::test::fixture;

namespace {

// Share Control Header, shareId, source descriptor "RDP", a General and a Virtual Channel
// Capability Set (flags VCCAPS_COMPR_SC | VCCAPS_COMPR_CS_8K, VCChunkSize 1600).
Bytes windows_like_demand_active() {
    Bytes b;
    Writer w(b);
    w.u16le(0);  // totalLength, set below
    w.u16le(0x0011);
    w.u16le(0x03EA);
    w.u32le(0x000103EA);
    w.u16le(4);
    w.u16le(4 + 8 + 12);
    w.bytes(Bytes{'R', 'D', 'P', 0});
    w.u16le(2);
    w.u16le(0);
    w.u16le(0x0001);  // CAPSTYPE_GENERAL, shortened: only its type and length matter here
    w.u16le(8);
    w.u32le(0);
    w.u16le(caps::kVirtualChannel);
    w.u16le(12);
    w.u32le(0x00000003);
    w.u32le(1600);
    b[0] = uint8_t(b.size());
    return b;
}

}  // namespace

TEST(DemandActive, WindowsLikeOfferOfCompressedChannelDataIsTakenBack) {
    Bytes pdu = windows_like_demand_active();
    EXPECT_TRUE(caps::is_demand_active(pdu));
    auto cleared = caps::refuse_client_channel_compression(pdu);
    ASSERT_TRUE(cleared) << cleared.error().message();
    EXPECT_TRUE(*cleared);
    EXPECT_EQ(load_u32le(&pdu[pdu.size() - 8]), 0x00000001u);  // server-to-client stays
    EXPECT_FALSE(*caps::refuse_client_channel_compression(pdu));
    expect_truncations_rejected(windows_like_demand_active(), [](ByteView b) {
        Bytes copy(b.begin(), b.end());
        return caps::refuse_client_channel_compression(copy);
    });
}

TEST(DemandActive, XrdpOffersNoChannelCompressionAndStaysAsItWas) {
    const Bytes frame = fixture("session_channels/s2c_11_demand_active.bin");
    auto sd = mcs::decode_send_data(*unwrap_x224_data(frame));
    ASSERT_TRUE(sd);
    Bytes share(sd->user_data.begin(), sd->user_data.end());
    ASSERT_TRUE(caps::is_demand_active(share));
    const Bytes before = share;
    auto cleared = caps::refuse_client_channel_compression(share);
    ASSERT_TRUE(cleared) << cleared.error().message();
    EXPECT_FALSE(*cleared);
    EXPECT_EQ(share, before);
    const Bytes font_map = fixture("session_channels/s2c_15_font_map.bin");
    auto other = mcs::decode_send_data(*unwrap_x224_data(font_map));
    ASSERT_TRUE(other);
    EXPECT_FALSE(caps::is_demand_active(other->user_data));
}

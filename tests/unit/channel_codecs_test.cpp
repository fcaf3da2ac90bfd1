// The codecs behind the channel policy, on the PDUs of a real FreeRDP session with a drive, a
// printer, two ports and the clipboard (tests/fixtures/session_channels/, captured at xrdp).
#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/mcs.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/rdpdr.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/virtual_channel.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::expect_truncations_rejected;
using rdpbridge::test::fixture;

namespace {

Bytes session(const std::string& name) {
    return fixture("session_channels/" + name);
}

gcc::DataBlock client_block(uint16_t type) {
    auto ci =
        mcs::decode_connect_initial(*unwrap_x224_data(session("c2s_01_mcs_connect_initial.bin")));
    EXPECT_TRUE(ci);
    return *ci->conference.find(type);
}

gcc::DataBlock server_block(uint16_t type) {
    auto cr =
        mcs::decode_connect_response(*unwrap_x224_data(session("s2c_01_mcs_connect_response.bin")));
    EXPECT_TRUE(cr);
    return *cr->conference.find(type);
}

// The whole rdpdr message a single-chunk Send Data PDU carries.
Bytes channel_message(const Bytes& frame, uint16_t* channel = nullptr) {
    auto sd = mcs::decode_send_data(*unwrap_x224_data(frame));
    EXPECT_TRUE(sd);
    if (channel) *channel = sd->channel;
    auto chunk = vc::decode_chunk(sd->user_data);
    EXPECT_TRUE(chunk);
    EXPECT_EQ(chunk->flags & (vc::flag::first | vc::flag::last), vc::flag::first | vc::flag::last);
    return Bytes(chunk->data.begin(), chunk->data.end());
}

}  // namespace

TEST(ClientNetwork, RealCsNetDecodesAndEncodesByteForByte) {
    const auto block = client_block(gcc::block::cs_net);
    auto channels = gcc::decode_client_network(block);
    ASSERT_TRUE(channels) << channels.error().message();
    ASSERT_EQ(channels->size(), 4u);
    EXPECT_EQ((*channels)[0].text(), "rdpdr");
    EXPECT_EQ((*channels)[2].text(), "cliprdr");
    EXPECT_EQ((*channels)[2].options, 0xC0A00000u);
    EXPECT_EQ(gcc::encode_client_network(*channels).body, block.body);
    expect_truncations_rejected(block.body, [](ByteView b) {
        return gcc::decode_client_network({gcc::block::cs_net, Bytes(b.begin(), b.end())});
    });
}

TEST(ClientNetwork, MoreThan31ChannelsIsCorruptNotAmbitious) {
    gcc::DataBlock block{gcc::block::cs_net, Bytes(4 + 32 * 12, 0)};
    block.body[0] = 32;
    auto channels = gcc::decode_client_network(block);
    ASSERT_FALSE(channels);
    EXPECT_EQ(channels.error().field, "gcc.cs_net.channel_count");
}

TEST(ServerNetwork, RealScNetDecodesAndEncodesByteForByte) {
    const auto block = server_block(gcc::block::sc_net);
    auto net = gcc::decode_server_network(block);
    ASSERT_TRUE(net) << net.error().message();
    EXPECT_EQ(net->io_channel, 1003);
    EXPECT_EQ(net->channel_ids, (std::vector<uint16_t>{1004, 1005, 1006, 1007}));
    EXPECT_EQ(gcc::encode_server_network(*net).body, block.body);
}

TEST(ServerNetwork, OddCountCarriesPadding) {
    const auto block = gcc::encode_server_network({1003, {1004, 1005, 1006}});
    EXPECT_EQ(block.body.size(), 4u + 6u + 2u);
    auto again = gcc::decode_server_network(block);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->channel_ids.size(), 3u);
}

TEST(ChannelJoin, RequestDecodesAndTheGatewaysConfirmIsXrdpsByteForByte) {
    auto join = mcs::decode_channel_join_request(
        *unwrap_x224_data(session("c2s_08_mcs_channel_join_request_cliprdr.bin")));
    ASSERT_TRUE(join) << join.error().message();
    EXPECT_EQ(join->channel, 1006);
    // What xrdp answered is what the gateway answers for a channel it keeps to itself.
    EXPECT_EQ(mcs::encode_channel_join_confirm(*join),
              session("s2c_07_mcs_channel_join_confirm_cliprdr.bin"));
    const Bytes frame = session("c2s_08_mcs_channel_join_request_cliprdr.bin");
    const ByteView view = *unwrap_x224_data(frame);
    const Bytes payload(view.begin(), view.end());
    expect_truncations_rejected(payload,
                                [](ByteView b) { return mcs::decode_channel_join_request(b); });
}

TEST(DeviceList, RealAnnounceOfDrivePortsAndPrinter) {
    uint16_t channel = 0;
    const Bytes message =
        channel_message(session("c2s_26_rdpdr_client_device_list_announce.bin"), &channel);
    EXPECT_EQ(channel, 1004);  // rdpdr, the first channel of the CS_NET
    EXPECT_EQ(rdpdr::core_packet(message), rdpdr::kDeviceListAnnounce);
    auto devices = rdpdr::decode_device_list_announce(message);
    ASSERT_TRUE(devices) << devices.error().message();
    ASSERT_EQ(devices->size(), 4u);
    EXPECT_EQ((*devices)[0].type, rdpdr::device::drive);
    EXPECT_EQ((*devices)[0].dos_name, "share");
    EXPECT_EQ((*devices)[3].type, rdpdr::device::printer);
    EXPECT_EQ(rdpdr::device_type_name((*devices)[1].type), "serial");
    EXPECT_EQ(rdpdr::encode_device_list_announce(*devices), message);
    expect_truncations_rejected(message,
                                [](ByteView b) { return rdpdr::decode_device_list_announce(b); });

    // Without the drive: three devices, each byte for byte as the client announced it.
    std::vector<rdpdr::Device> kept(devices->begin() + 1, devices->end());
    const Bytes rewritten = rdpdr::encode_device_list_announce(kept);
    auto again = rdpdr::decode_device_list_announce(rewritten);
    ASSERT_TRUE(again);
    ASSERT_EQ(again->size(), 3u);
    EXPECT_EQ((*again)[0].dos_name, "COM1");
    EXPECT_EQ(rewritten.size(), message.size() - (*devices)[0].announce.size());
}

TEST(DeviceList, EmptyAnnounceAndOtherMessages) {
    const Bytes empty =
        channel_message(session("c2s_25_rdpdr_client_device_list_announce_empty.bin"));
    auto devices = rdpdr::decode_device_list_announce(empty);
    ASSERT_TRUE(devices);
    EXPECT_TRUE(devices->empty());
    const Bytes name = channel_message(session("c2s_23_rdpdr_client_name_request.bin"));
    EXPECT_NE(rdpdr::core_packet(name), rdpdr::kDeviceListAnnounce);
    EXPECT_FALSE(rdpdr::decode_device_list_announce(name));
}

TEST(DeviceList, RemoveRoundTrips) {
    const Bytes message = rdpdr::encode_device_list_remove({1, 4});
    auto ids = rdpdr::decode_device_list_remove(message);
    ASSERT_TRUE(ids);
    EXPECT_EQ(*ids, (std::vector<uint32_t>{1, 4}));
    expect_truncations_rejected(message,
                                [](ByteView b) { return rdpdr::decode_device_list_remove(b); });
}

TEST(VirtualChannel, ChunksReassembleIntoTheMessage) {
    Bytes message(4000);
    for (std::size_t i = 0; i < message.size(); ++i) message[i] = uint8_t(i * 7);
    const auto chunks = vc::chunk(message, vc::flag::show_protocol, 1600);
    ASSERT_EQ(chunks.size(), 3u);
    vc::Reassembler r(64 * 1024);
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        auto chunk = vc::decode_chunk(chunks[i]);
        ASSERT_TRUE(chunk);
        EXPECT_EQ(chunk->total_length, 4000u);
        EXPECT_TRUE(chunk->flags & vc::flag::show_protocol);
        EXPECT_EQ(bool(chunk->flags & vc::flag::first), i == 0);
        EXPECT_EQ(bool(chunk->flags & vc::flag::last), i == 2);
        auto done = r.add(*chunk);
        ASSERT_TRUE(done) << done.error().message();
        EXPECT_EQ(done->has_value(), i == 2);
        if (*done) {
            EXPECT_EQ(**done, message);
        }
    }
    EXPECT_EQ(r.largest_chunk(), 1600u);
}

TEST(VirtualChannel, ReassemblyIsBoundedAndInSequence) {
    vc::Reassembler r(1000);
    const Bytes big(8, 0);
    auto over = r.add({2000, vc::flag::first, big});
    ASSERT_FALSE(over);
    EXPECT_NE(over.error().reason.find("exceeds"), std::string::npos);
    auto stray = r.add({8, vc::flag::last, big});
    EXPECT_FALSE(stray);  // no FIRST before it
    ASSERT_TRUE(r.add({10, vc::flag::first, big}));
    auto too_long = r.add({10, vc::flag::last, big});  // 16 bytes for 10 declared
    EXPECT_FALSE(too_long);
    ASSERT_TRUE(r.add({16, vc::flag::first, big}));
    auto twice = r.add({16, vc::flag::first, big});
    EXPECT_FALSE(twice);
    EXPECT_FALSE(vc::decode_chunk(Bytes(7, 0)));
}

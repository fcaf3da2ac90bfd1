// The channel policy in the bridge, towards a TLS host, on the PDUs of a real FreeRDP session with
// rdpdr (a drive, two ports, a printer), rdpsnd, cliprdr and drdynvc
// (tests/fixtures/session_channels/). The test plays the host: one that was asked for fewer
// channels answers with fewer ids, as xrdp does (1004 and up, in order).
#include <gtest/gtest.h>

#include <algorithm>

#include "fixtures.hpp"
#include "rdp/bridge.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/mcs.hpp"
#include "rdp/rdpdr.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/virtual_channel.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::fixture;

namespace {

constexpr uint16_t kGatewayCliprdr = ChannelFilter::kFirstGatewayChannel + 2;  // third in CS_NET

Bytes session(const std::string& name) {
    return fixture("session_channels/" + name);
}

std::vector<Bytes> pdus(const Bytes& stream) {
    return rdpbridge::test::split_pdus(stream);
}

std::vector<std::string> cs_net_names(const Bytes& frame) {
    auto ci = mcs::decode_connect_initial(*unwrap_x224_data(frame));
    EXPECT_TRUE(ci);
    return *gcc::channel_names(*ci->conference.find(gcc::block::cs_net));
}

std::vector<uint16_t> sc_net_ids(const Bytes& frame) {
    auto cr = mcs::decode_connect_response(*unwrap_x224_data(frame));
    EXPECT_TRUE(cr);
    return gcc::decode_server_network(*cr->conference.find(gcc::block::sc_net))->channel_ids;
}

// The captured Connect Response of a host that was asked for `ids.size()` channels.
Bytes host_response_with(std::vector<uint16_t> ids) {
    auto cr =
        mcs::decode_connect_response(*unwrap_x224_data(session("s2c_01_mcs_connect_response.bin")));
    *cr->conference.find(gcc::block::sc_net) = gcc::encode_server_network({1003, std::move(ids)});
    return *mcs::encode(*cr);
}

// The captured Channel Join Request, for another channel.
Bytes join_request(uint16_t channel) {
    Bytes pdu = session("c2s_06_mcs_channel_join_request_rdpdr.bin");
    pdu[pdu.size() - 2] = uint8_t(channel >> 8);
    pdu[pdu.size() - 1] = uint8_t(channel);
    return pdu;
}

Bytes join_confirm(uint16_t channel) {
    auto join = mcs::decode_channel_join_request(*unwrap_x224_data(join_request(channel)));
    return mcs::encode_channel_join_confirm(*join);
}

Bytes rdpdr_frame(ByteView user_data, uint16_t channel = 1004) {
    mcs::SendData sd;
    sd.initiator = 6;
    sd.channel = channel;
    return *mcs::encode_send_data(sd, user_data);
}

// The devices of every Device List Announce in a client-to-host stream.
std::vector<std::vector<rdpdr::Device>> announced(const Bytes& stream, Bytes& keep) {
    std::vector<std::vector<rdpdr::Device>> lists;
    vc::Reassembler r(1 << 20);
    for (const auto& pdu : pdus(stream)) {
        auto sd = mcs::decode_send_data(*unwrap_x224_data(pdu));
        if (!sd || sd->channel != 1004) continue;
        auto done = r.add(*vc::decode_chunk(sd->user_data));
        EXPECT_TRUE(done) << done.error().message();
        if (!done || !*done) continue;
        keep = **done;
        if (rdpdr::core_packet(keep) != rdpdr::kDeviceListAnnounce) continue;
        lists.push_back(*rdpdr::decode_device_list_announce(keep));
    }
    return lists;
}

std::string fact(const std::vector<Fact>& facts, const std::string& name) {
    for (const auto& [k, v] : facts)
        if (k == name) return v;
    return "";
}

class ChannelPolicyBridge : public ::testing::Test {
  protected:
    void start(ChannelPolicy policy, std::vector<uint16_t> host_ids) {
        BridgeParams p;
        p.client_requested = protocol::ssl;
        p.front_selected = protocol::ssl;
        p.back_selected = protocol::ssl;
        p.channels = std::move(policy);
        bridge_ = std::make_unique<Bridge>(p);
        Bytes to_host, to_client;
        ASSERT_FALSE(bridge_->from_client(session("c2s_01_mcs_connect_initial.bin"), to_host));
        host_view_initial_ = to_host;
        ASSERT_FALSE(bridge_->from_host(host_response_with(std::move(host_ids)), to_client));
        client_view_response_ = to_client;
        for (const char* name :
             {"c2s_02_mcs_erect_domain_request.bin", "c2s_03_mcs_attach_user_request.bin",
              "c2s_04_mcs_channel_join_request_user.bin",
              "c2s_05_mcs_channel_join_request_io.bin"}) {
            Bytes out;
            ASSERT_FALSE(bridge_->from_client(session(name), out));
            EXPECT_EQ(out, session(name)) << name;
        }
        for (const char* name :
             {"s2c_02_mcs_attach_user_confirm.bin", "s2c_03_mcs_channel_join_confirm_user.bin",
              "s2c_04_mcs_channel_join_confirm_io.bin"}) {
            Bytes out;
            ASSERT_FALSE(bridge_->from_host(session(name), out));
            EXPECT_EQ(out, session(name)) << name;
        }
    }

    Bytes client(const Bytes& in) {
        Bytes out;
        auto failure = bridge_->from_client(in, out);
        EXPECT_FALSE(failure) << failure->detail;
        return out;
    }
    Bytes host(const Bytes& in) {
        Bytes out;
        auto failure = bridge_->from_host(in, out);
        EXPECT_FALSE(failure) << failure->detail;
        return out;
    }

    static ChannelPolicy deny_clipboard_and_drives() {
        ChannelPolicy p;
        p.deny = {"CLIPRDR"};  // names compare case-insensitively
        p.deny_devices = {rdpdr::device::drive};
        return p;
    }

    std::unique_ptr<Bridge> bridge_;
    Bytes host_view_initial_, client_view_response_;
};

}  // namespace

TEST_F(ChannelPolicyBridge, DeniedChannelNeverReachesTheHostAndTheClientStillGetsAnId) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    EXPECT_EQ(cs_net_names(host_view_initial_),
              (std::vector<std::string>{"rdpdr", "rdpsnd", "drdynvc"}));
    EXPECT_EQ(sc_net_ids(client_view_response_),
              (std::vector<uint16_t>{1004, 1005, kGatewayCliprdr, 1006}));
    EXPECT_EQ(fact(bridge_->take_facts(), "channels"),
              "passed=rdpdr,rdpsnd,drdynvc removed=cliprdr");
    // The client's stream stays read (joins, channel data); the host's until the joins are over.
    EXPECT_FALSE(bridge_->client_transparent());
    EXPECT_FALSE(bridge_->host_transparent());
}

TEST_F(ChannelPolicyBridge, JoinOfARemovedChannelIsAnsweredByTheGateway) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    for (uint16_t id : {uint16_t(1004), uint16_t(1005)}) {
        EXPECT_EQ(client(join_request(id)), join_request(id));
        EXPECT_EQ(host(join_confirm(id)), join_confirm(id));
    }
    EXPECT_TRUE(client(join_request(kGatewayCliprdr)).empty());  // nothing to the host
    EXPECT_EQ(bridge_->take_replies(), join_confirm(kGatewayCliprdr));
    EXPECT_EQ(client(join_request(1006)), join_request(1006));
    EXPECT_EQ(host(join_confirm(1006)), join_confirm(1006));
    EXPECT_TRUE(bridge_->take_replies().empty());
}

TEST_F(ChannelPolicyBridge, GatewaysConfirmWaitsForTheHostsConfirmsOfEarlierJoins) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    // A client that asks for every channel at once.
    Bytes joins = join_request(1004);
    for (uint16_t id : {uint16_t(1005), kGatewayCliprdr, uint16_t(1006)}) {
        const Bytes j = join_request(id);
        joins.insert(joins.end(), j.begin(), j.end());
    }
    const auto to_host = pdus(client(joins));
    ASSERT_EQ(to_host.size(), 3u);
    EXPECT_TRUE(bridge_->take_replies().empty());
    EXPECT_EQ(host(join_confirm(1004)), join_confirm(1004));
    Bytes expected = join_confirm(1005);
    const Bytes ours = join_confirm(kGatewayCliprdr);
    expected.insert(expected.end(), ours.begin(), ours.end());
    EXPECT_EQ(host(join_confirm(1005)), expected);  // in the order the client asked
    EXPECT_EQ(host(join_confirm(1006)), join_confirm(1006));
}

TEST_F(ChannelPolicyBridge, HostDirectionStepsAsideOnceTheClientHasJoined) {
    ChannelPolicy p;
    p.deny = {"cliprdr"};  // no device rules: the host's Demand Active is not awaited
    start(p, {1004, 1005, 1006});
    client(join_request(kGatewayCliprdr));
    bridge_->take_replies();
    const Bytes info = session("c2s_10_client_info.bin");
    EXPECT_EQ(client(info), info);
    EXPECT_FALSE(bridge_->host_transparent());
    host(session("s2c_09.bin"));  // the host's next PDU, whole: the switch happens after it
    EXPECT_TRUE(bridge_->host_transparent());
    EXPECT_FALSE(bridge_->client_transparent());
}

TEST_F(ChannelPolicyBridge, DriveLeavesTheDeviceListAndTheRestPassesByteForByte) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    client(session("c2s_10_client_info.bin"));
    bridge_->take_facts();
    for (const char* name :
         {"c2s_22_rdpdr_client_announce_reply.bin", "c2s_23_rdpdr_client_name_request.bin",
          "c2s_24_rdpdr_client_core_capability_response.bin",
          "c2s_25_rdpdr_client_device_list_announce_empty.bin"}) {
        EXPECT_EQ(client(session(name)), session(name)) << name;
    }
    Bytes message;
    const auto lists =
        announced(client(session("c2s_26_rdpdr_client_device_list_announce.bin")), message);
    ASSERT_EQ(lists.size(), 1u);
    ASSERT_EQ(lists[0].size(), 3u);
    for (const auto& d : lists[0]) EXPECT_NE(d.type, rdpdr::device::drive);
    EXPECT_EQ(fact(bridge_->take_facts(), "channel_refused"),
              "channel=rdpdr device=drive id=1 name=share");
    EXPECT_EQ(bridge_->devices_refused(), 1u);

    // A later Device List Remove that names only the refused drive never reaches the host.
    const auto remove = vc::chunk(rdpdr::encode_device_list_remove({1}), 0, 1600);
    EXPECT_TRUE(client(rdpdr_frame(remove[0])).empty());
    const auto both = vc::chunk(rdpdr::encode_device_list_remove({1, 2}), 0, 1600);
    const auto to_host = pdus(client(rdpdr_frame(both[0])));
    ASSERT_EQ(to_host.size(), 1u);
    auto sd = mcs::decode_send_data(*unwrap_x224_data(to_host[0]));
    auto ids = rdpdr::decode_device_list_remove(vc::decode_chunk(sd->user_data)->data);
    ASSERT_TRUE(ids);
    EXPECT_EQ(*ids, std::vector<uint32_t>{2});
}

TEST_F(ChannelPolicyBridge, ChunkedDeviceListIsReassembledThenRewritten) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    client(session("c2s_10_client_info.bin"));
    const Bytes whole = session("c2s_26_rdpdr_client_device_list_announce.bin");
    auto sd = mcs::decode_send_data(*unwrap_x224_data(whole));
    const ByteView message = vc::decode_chunk(sd->user_data)->data;
    Bytes stream;
    for (const auto& part : vc::chunk(message, vc::flag::show_protocol, 40)) {
        const Bytes f = rdpdr_frame(part);
        stream.insert(stream.end(), f.begin(), f.end());
    }
    Bytes to_host;
    const auto frames = pdus(stream);
    for (std::size_t i = 0; i + 1 < frames.size(); ++i) {
        to_host = client(frames[i]);
        EXPECT_TRUE(to_host.empty()) << "chunk " << i << " passed before the list was whole";
    }
    to_host = client(frames.back());
    for (const auto& pdu : pdus(to_host)) {
        auto out = mcs::decode_send_data(*unwrap_x224_data(pdu));
        EXPECT_LE(vc::decode_chunk(out->user_data)->data.size(), 40u);
        EXPECT_TRUE(vc::decode_chunk(out->user_data)->flags & vc::flag::show_protocol);
    }
    Bytes rewritten;
    const auto lists = announced(to_host, rewritten);
    ASSERT_EQ(lists.size(), 1u);
    EXPECT_EQ(lists[0].size(), 3u);
}

TEST_F(ChannelPolicyBridge, WhatTheClientSendsOnARemovedChannelIsDroppedAndCounted) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    client(session("c2s_10_client_info.bin"));
    bridge_->take_facts();
    const Bytes format_list = vc::chunk(Bytes{2, 0, 0, 0, 0, 0, 0, 0}, 0, 1600)[0];
    EXPECT_TRUE(client(rdpdr_frame(format_list, kGatewayCliprdr)).empty());
    EXPECT_TRUE(client(rdpdr_frame(format_list, kGatewayCliprdr)).empty());
    EXPECT_EQ(bridge_->channel_pdus_dropped(), 2u);
    EXPECT_EQ(fact(bridge_->take_facts(), "channel_data_dropped"), "cliprdr");
}

TEST_F(ChannelPolicyBridge, CompressedRdpdrDataIsWithheldWhenDevicesAreFiltered) {
    start(deny_clipboard_and_drives(), {1004, 1005, 1006});
    client(session("c2s_10_client_info.bin"));
    bridge_->take_facts();
    const Bytes chunk = vc::chunk(Bytes(20, 1), vc::flag::compressed, 1600)[0];
    EXPECT_TRUE(client(rdpdr_frame(chunk)).empty());
    EXPECT_NE(fact(bridge_->take_facts(), "channel_refused").find("compressed"), std::string::npos);
}

TEST_F(ChannelPolicyBridge, EmptyAllowListKeepsEveryChannelFromTheHost) {
    ChannelPolicy p;
    p.allow = std::vector<std::string>{};
    start(p, {});
    EXPECT_TRUE(cs_net_names(host_view_initial_).empty());
    EXPECT_EQ(sc_net_ids(client_view_response_).size(), 4u);
    for (uint16_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(
            client(join_request(uint16_t(ChannelFilter::kFirstGatewayChannel + i))).empty());
        EXPECT_EQ(bridge_->take_replies(),
                  join_confirm(uint16_t(ChannelFilter::kFirstGatewayChannel + i)));
    }
}

TEST_F(ChannelPolicyBridge, HostThatAnswersForTheWrongNumberOfChannelsFails) {
    BridgeParams p;
    p.client_requested = p.front_selected = p.back_selected = protocol::ssl;
    p.channels.deny = {"cliprdr"};
    Bridge b(p);
    Bytes out;
    ASSERT_FALSE(b.from_client(session("c2s_01_mcs_connect_initial.bin"), out));
    auto failure = b.from_host(session("s2c_01_mcs_connect_response.bin"), out);  // four ids
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause, Cause::host_mcs_malformed);
    EXPECT_NE(failure->detail.find("gcc.sc_net.channel_count"), std::string::npos);
}

TEST(ChannelPolicyNone, NoPolicyLeavesTheBridgeTransparentAsBefore) {
    BridgeParams p;
    p.client_requested = p.front_selected = p.back_selected = protocol::ssl;
    Bridge b(p);
    EXPECT_FALSE(b.channel_policy());
    Bytes out;
    ASSERT_FALSE(b.from_client(session("c2s_01_mcs_connect_initial.bin"), out));
    EXPECT_EQ(out, session("c2s_01_mcs_connect_initial.bin"));
    EXPECT_TRUE(b.client_transparent());
    out.clear();
    ASSERT_FALSE(b.from_host(session("s2c_01_mcs_connect_response.bin"), out));
    EXPECT_EQ(out, session("s2c_01_mcs_connect_response.bin"));
    EXPECT_TRUE(b.host_transparent());
}

TEST(ChannelPolicyNone, DeviceRulesWithoutRdpdrLeaveTheClientStreamAlone) {
    BridgeParams p;
    p.client_requested = p.front_selected = p.back_selected = protocol::ssl;
    p.channels.deny_devices = {rdpdr::device::drive};
    p.channels.deny = {"rdpdr"};
    Bridge b(p);
    Bytes out;
    ASSERT_FALSE(b.from_client(session("c2s_01_mcs_connect_initial.bin"), out));
    EXPECT_FALSE(b.client_transparent());  // rdpdr removed: its join is the gateway's to answer
}

TEST_F(ChannelPolicyBridge, WithDeviceRulesTheHostsOfferOfCompressedChannelDataIsTakenBack) {
    ChannelPolicy p;
    p.deny_devices = {rdpdr::device::drive};
    start(p, {1004, 1005, 1006, 1007});
    for (uint16_t id : {uint16_t(1004), uint16_t(1005), uint16_t(1006), uint16_t(1007)}) {
        client(join_request(id));
        host(join_confirm(id));
    }
    client(session("c2s_10_client_info.bin"));
    host(session("s2c_09.bin"));
    EXPECT_FALSE(bridge_->host_transparent());  // its Demand Active is still to come

    // A Demand Active shaped like Windows': VCCAPS_COMPR_SC | VCCAPS_COMPR_CS_8K.
    Bytes share;
    Writer w(share);
    for (uint16_t v : {uint16_t(38), uint16_t(0x0011), uint16_t(0x03EA)}) w.u16le(v);
    w.u32le(0x000103EA);
    w.u16le(4);
    w.u16le(4 + 12);
    w.bytes(Bytes{'R', 'D', 'P', 0});
    w.u16le(1);
    w.u16le(0);
    w.u16le(0x0014);
    w.u16le(12);
    w.u32le(0x00000003);
    w.u32le(1600);
    mcs::SendData sd;
    sd.indication = true;
    sd.initiator = 1002;
    sd.channel = 1003;
    const Bytes to_client = host(*mcs::encode_send_data(sd, share));
    auto out = mcs::decode_send_data(*unwrap_x224_data(to_client));
    ASSERT_TRUE(out);
    EXPECT_EQ(load_u32le(&out->user_data[out->user_data.size() - 8]), 0x00000001u);
    EXPECT_NE(fact(bridge_->take_facts(), "rewrote").find("VCCAPS_COMPR_CS_8K"), std::string::npos);
    EXPECT_TRUE(bridge_->host_transparent());
}

#include <gtest/gtest.h>

#include "fixtures.hpp"
#include "rdp/bridge.hpp"
#include "rdp/mcs.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::fixture;

namespace {

BridgeParams params(uint32_t client_requested, uint32_t back_selected) {
    BridgeParams p;
    p.client_requested = client_requested;
    p.front_selected = protocol::ssl;
    p.back_selected = back_selected;
    return p;
}

uint32_t selected_in(const Bytes& frame) {
    auto ci = mcs::decode_connect_initial(*unwrap_x224_data(frame));
    EXPECT_TRUE(ci);
    return *gcc::server_selected_protocol(*ci->conference.find(gcc::block::cs_core));
}

uint32_t requested_in(const Bytes& frame) {
    auto cr = mcs::decode_connect_response(*unwrap_x224_data(frame));
    EXPECT_TRUE(cr);
    return *gcc::client_requested_protocols(*cr->conference.find(gcc::block::sc_core));
}

}  // namespace

TEST(Bridge, SameProtocolsPassConnectInitialUnchanged) {
    const Bytes ci = fixture("mcs_connect_initial_freerdp_tls.bin");
    Bridge b(params(protocol::ssl, protocol::ssl));
    Bytes out;
    EXPECT_FALSE(b.from_client(ci, out));
    EXPECT_EQ(out, ci);
    EXPECT_TRUE(b.client_transparent());
    const auto facts = b.take_facts();
    ASSERT_FALSE(facts.empty());
    EXPECT_EQ(facts[0].first, "client_channels");
}

// A client that negotiated CredSSP with the gateway while the host got plain TLS.
Bytes connect_initial_selecting(uint32_t selected) {
    auto ci = mcs::decode_connect_initial(
        *unwrap_x224_data(fixture("mcs_connect_initial_freerdp_tls.bin")));
    gcc::set_server_selected_protocol(*ci->conference.find(gcc::block::cs_core), selected);
    return *mcs::encode(*ci);
}

TEST(Bridge, DifferentProtocolsRewriteConnectInitialByteByByte) {
    const Bytes ci = connect_initial_selecting(protocol::hybrid);
    Bridge b(params(protocol::ssl | protocol::hybrid, protocol::ssl));
    Bytes out;
    // Fed one byte at a time, as a slow TLS record stream might deliver it.
    for (uint8_t byte : ci) {
        ASSERT_FALSE(b.client_transparent());
        EXPECT_FALSE(b.from_client(ByteView(&byte, 1), out));
    }
    EXPECT_TRUE(b.client_transparent());
    EXPECT_EQ(out.size(), ci.size());
    EXPECT_EQ(selected_in(out), protocol::ssl);
    // Afterwards bytes pass untouched.
    const Bytes later{0x44, 0x05, 1, 2, 3};
    Bytes out2;
    EXPECT_FALSE(b.from_client(later, out2));
    EXPECT_EQ(out2, later);
}

TEST(Bridge, BytesCoalescedAfterConnectInitialAreKept) {
    Bytes stream = connect_initial_selecting(protocol::hybrid);
    const Bytes erect = wrap_x224_data(Bytes{0x04, 0x01, 0x00, 0x01, 0x00, 0x01});
    stream.insert(stream.end(), erect.begin(), erect.end());
    Bridge b(params(protocol::ssl | protocol::hybrid, protocol::ssl));
    Bytes out;
    EXPECT_FALSE(b.from_client(stream, out));
    ASSERT_EQ(out.size(), stream.size());
    EXPECT_TRUE(std::equal(erect.begin(), erect.end(), out.end() - long(erect.size())));
}

TEST(Bridge, ConnectResponseEchoesWhatTheClientRequested) {
    const Bytes cr = fixture("mcs_connect_response_xrdp_tls.bin");
    Bridge b(params(0x0B, protocol::ssl));
    Bytes out;
    EXPECT_FALSE(b.from_host(cr, out));
    EXPECT_EQ(requested_in(out), 0x0Bu);
    const auto facts = b.take_facts();
    ASSERT_EQ(facts.size(), 2u);
    EXPECT_EQ(facts[0].second, "SC_CORE.clientRequestedProtocols SSL -> SSL|HYBRID|HYBRID_EX");
    EXPECT_EQ(facts[1].first, "established");
    EXPECT_TRUE(b.host_transparent());
}

TEST(Bridge, GarbageInsteadOfConnectInitialFails) {
    Bridge b(params(protocol::ssl, protocol::ssl));
    Bytes out;
    const Bytes junk{0x03, 0x00, 0x00, 0x0A, 0x02, 0xF0, 0x80, 0x01, 0x02, 0x03};
    auto f = b.from_client(junk, out);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->cause, Cause::client_mcs_malformed);
    EXPECT_TRUE(out.empty());
    Bridge b2(params(protocol::ssl, protocol::ssl));
    auto huge = b2.from_host(Bytes{0x16, 0x03, 0x01}, out);
    ASSERT_TRUE(huge);
    EXPECT_EQ(huge->cause, Cause::host_mcs_malformed);
}

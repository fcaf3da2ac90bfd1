#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "client_info_fixture.hpp"
#include "fixtures.hpp"
#include "rdp/bridge.hpp"
#include "rdp/client_info.hpp"
#include "rdp/mcs.hpp"
#include "rdp/utf16.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::fixture;
using rdpbridge::test::split_pdus;

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

// ----------------------------------------------------------------------------- auto-logon

namespace {

using rdpbridge::test::client_info_pdu;
using rdpbridge::test::credentials;
using rdpbridge::test::delegated_credentials;
using rdpbridge::test::info_packet_of_pdu;
using rdpbridge::test::mstsc_style_info_packet;
using rdpbridge::test::real_client_info_pdu;
using rdpbridge::test::utf16;

Bytes session_tls(int n) {
    char name[32];
    std::snprintf(name, sizeof name, "session_tls/c2s_%02d.bin", n);
    return fixture(name);
}

bool contains(ByteView haystack, ByteView needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
           haystack.end();
}

void expect_no_secret_in(const std::vector<Fact>& facts, const std::string& password) {
    const Bytes wide = utf16(password);
    for (const auto& [k, v] : facts) {
        EXPECT_EQ(v.find(password), std::string::npos) << k;
        EXPECT_FALSE(contains(ByteView(reinterpret_cast<const uint8_t*>(v.data()), v.size()), wide))
            << k;
    }
}

std::string fact_value(const std::vector<Fact>& facts, const std::string& name) {
    for (const auto& [k, v] : facts)
        if (k == name) return v;
    return "<none>";
}

// FreeRDP's real connection sequence after NLA at the gateway: the Connect Initial (selecting
// HYBRID, rewritten for a TLS host), Erect Domain, Attach User, six Channel Joins, then
// `client_info`, then its real licensing and capability PDUs and one fast-path input PDU.
struct ClientStream {
    Bytes bytes;
    std::vector<Bytes> pdus;      // as fed
    std::size_t client_info_end;  // offset just past the Client Info
};

ClientStream client_stream(const Bytes& client_info) {
    ClientStream s;
    s.pdus.push_back(connect_initial_selecting(protocol::hybrid));
    for (int n = 2; n <= 9; ++n) s.pdus.push_back(session_tls(n));
    s.pdus.push_back(client_info);
    for (int n = 11; n <= 16; ++n) s.pdus.push_back(session_tls(n));
    s.pdus.push_back(Bytes{0x04, 0x06, 0x01, 0x00, 0x0F, 0x01});  // fast-path input
    for (std::size_t i = 0; i < s.pdus.size(); ++i) {
        s.bytes.insert(s.bytes.end(), s.pdus[i].begin(), s.pdus[i].end());
        if (i == 9) s.client_info_end = s.bytes.size();
    }
    return s;
}

// Feeds `stream` in odd splits; checks the direction stays translated exactly until the end of
// the Client Info has been fed.
Bytes feed_in_odd_splits(Bridge& b, const ClientStream& s) {
    static constexpr std::size_t kSplits[] = {1, 7, 3, 250, 13, 64, 2, 401, 5};
    Bytes out;
    std::size_t fed = 0;
    for (std::size_t i = 0; fed < s.bytes.size(); ++i) {
        const std::size_t n = std::min(kSplits[i % std::size(kSplits)], s.bytes.size() - fed);
        EXPECT_FALSE(b.from_client(ByteView(s.bytes).subspan(fed, n), out));
        fed += n;
        EXPECT_EQ(b.client_transparent(), fed >= s.client_info_end) << "after " << fed << " bytes";
    }
    return out;
}

}  // namespace

TEST(BridgeAutoLogon, TlsHostClientInfoTakesTheCredentialsThenTheBridgeStepsAside) {
    Bridge b(params(protocol::ssl | protocol::hybrid, protocol::ssl));
    b.set_auto_logon(credentials("CORP", "alice", "S3cr3t-pw!"));
    const ClientStream s = client_stream(real_client_info_pdu());
    const Bytes out = feed_in_odd_splits(b, s);

    const auto out_pdus = split_pdus(out);
    ASSERT_EQ(out_pdus.size(), s.pdus.size());
    EXPECT_EQ(selected_in(out_pdus[0]), protocol::ssl);
    for (std::size_t i = 1; i < s.pdus.size(); ++i) {
        if (i == 9) continue;
        EXPECT_EQ(out_pdus[i], s.pdus[i]) << "PDU " << i;
    }
    // The Client Info: same MCS header and security header, the credentials in the packet.
    const Bytes& info_pdu = out_pdus[9];
    auto sd = mcs::decode_send_data(*unwrap_x224_data(info_pdu));
    ASSERT_TRUE(sd);
    auto original = mcs::decode_send_data(*unwrap_x224_data(s.pdus[9]));
    EXPECT_EQ(sd->initiator, original->initiator);
    EXPECT_EQ(sd->channel, original->channel);
    EXPECT_EQ(sd->priority_segmentation, original->priority_segmentation);
    EXPECT_TRUE(
        std::equal(sd->user_data.begin(), sd->user_data.begin() + 4, original->user_data.begin()));
    auto info = client_info::decode(sd->user_data.subspan(4));
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(*utf16le_to_utf8(info->domain, "d"), "CORP");
    EXPECT_EQ(*utf16le_to_utf8(info->user_name, "u"), "alice");
    EXPECT_EQ(Bytes(info->password.begin(), info->password.end()), utf16("S3cr3t-pw!"));
    EXPECT_EQ(info_pdu.size(), s.pdus[9].size() - 14 - 30 + 8 + 10 + 20);

    const auto facts = b.take_facts();
    EXPECT_EQ(fact_value(facts, "credentials_injected"), "alice");
    expect_no_secret_in(facts, "S3cr3t-pw!");

    // Transparent from now on.
    const Bytes later{0x44, 0x05, 1, 2, 3};
    Bytes out2;
    EXPECT_FALSE(b.from_client(later, out2));
    EXPECT_EQ(out2, later);
}

// Acceptance: mstsc's Client Info after NLA carries no password; the host's gets the one the
// client delegated in its TSCredentials.
TEST(BridgeAutoLogon, TlsHostGetsTheDelegatedPasswordWhenTheClientSentNone) {
    Bridge b(params(protocol::ssl | protocol::hybrid, protocol::ssl));
    b.set_auto_logon(delegated_credentials());
    const ClientStream s = client_stream(client_info_pdu(mstsc_style_info_packet()));
    const auto out_pdus = split_pdus(feed_in_odd_splits(b, s));
    ASSERT_EQ(out_pdus.size(), s.pdus.size());
    const Bytes info_packet = info_packet_of_pdu(out_pdus[9]);
    auto info = client_info::decode(info_packet);
    ASSERT_TRUE(info) << info.error().message();
    EXPECT_EQ(Bytes(info->password.begin(), info->password.end()), utf16("labpass-Secret1"));
    EXPECT_EQ(*utf16le_to_utf8(info->domain, "d"), "LAB");
    EXPECT_EQ(*utf16le_to_utf8(info->user_name, "u"), "labuser");
    EXPECT_TRUE(info->flags & client_info::info_autologon);
    const auto facts = b.take_facts();
    EXPECT_EQ(fact_value(facts, "credentials_injected"), "labuser");
    expect_no_secret_in(facts, "labpass-Secret1");
}

TEST(BridgeAutoLogon, AnotherSendDataFirstIsPassedAndEndsTheWait) {
    Bridge b(params(protocol::ssl, protocol::ssl));
    b.set_auto_logon(credentials("", "alice", "pw"));
    Bytes out;
    ASSERT_FALSE(b.from_client(fixture("mcs_connect_initial_freerdp_tls.bin"), out));
    EXPECT_FALSE(b.client_transparent());
    const Bytes license = session_tls(11);  // a licensing PDU where the Client Info should be
    Bytes stream = license;
    const Bytes info = real_client_info_pdu();
    stream.insert(stream.end(), info.begin(), info.end());
    out.clear();
    ASSERT_FALSE(b.from_client(stream, out));
    EXPECT_EQ(out, stream);  // both untouched: the wait ended at the licensing PDU
    EXPECT_TRUE(b.client_transparent());
    const auto facts = b.take_facts();
    EXPECT_EQ(fact_value(facts, "credentials_not_injected"),
              "the client's first Send Data Request is no Client Info");
    EXPECT_EQ(fact_value(facts, "credentials_injected"), "<none>");
}

TEST(BridgeAutoLogon, TheWaitIsBounded) {
    Bridge b(params(protocol::ssl, protocol::ssl));
    b.set_auto_logon(credentials("", "alice", "pw"));
    Bytes out;
    ASSERT_FALSE(b.from_client(fixture("mcs_connect_initial_freerdp_tls.bin"), out));
    const Bytes join = session_tls(5);
    for (int i = 0; i < 63; ++i) {
        ASSERT_FALSE(b.from_client(join, out));
        ASSERT_FALSE(b.client_transparent()) << i;
    }
    ASSERT_FALSE(b.from_client(join, out));
    EXPECT_TRUE(b.client_transparent());
    EXPECT_EQ(fact_value(b.take_facts(), "credentials_not_injected"),
              "64 MCS PDUs came without a Client Info");

    Bridge fast(params(protocol::ssl, protocol::ssl));
    fast.set_auto_logon(credentials("", "alice", "pw"));
    ASSERT_FALSE(fast.from_client(fixture("mcs_connect_initial_freerdp_tls.bin"), out));
    ASSERT_FALSE(fast.from_client(Bytes{0x04, 0x06, 0x01, 0x00, 0x0F, 0x01}, out));
    EXPECT_TRUE(fast.client_transparent());
    EXPECT_EQ(fact_value(fast.take_facts(), "credentials_not_injected"),
              "fast-path input came before a Client Info");
}

TEST(BridgeAutoLogon, TruncatedClientInfoFailsNamingTheField) {
    const Bytes info = info_packet_of_pdu(real_client_info_pdu());
    for (std::size_t n : {0u, 5u, 12u, 40u, 67u, 71u}) {
        Bridge b(params(protocol::ssl, protocol::ssl));
        b.set_auto_logon(credentials("", "alice", "S3cr3t-pw!"));
        Bytes out;
        ASSERT_FALSE(b.from_client(fixture("mcs_connect_initial_freerdp_tls.bin"), out));
        out.clear();
        auto failure = b.from_client(client_info_pdu(ByteView(info).first(n)), out);
        ASSERT_TRUE(failure) << n;
        EXPECT_EQ(failure->cause, Cause::client_mcs_malformed);
        EXPECT_EQ(failure->detail.rfind("client_info.", 0), 0u) << failure->detail;
        EXPECT_EQ(failure->detail.find("S3cr3t"), std::string::npos);
        EXPECT_EQ(failure->detail.find("labpass"), std::string::npos);
        EXPECT_TRUE(out.empty());
        expect_no_secret_in(b.take_facts(), "S3cr3t-pw!");
    }
}

TEST(BridgeAutoLogon, AnsiClientInfoIsPassedUnchanged) {
    Bridge b(params(protocol::ssl, protocol::ssl));
    b.set_auto_logon(credentials("", "alice", "pw"));
    Bytes out;
    ASSERT_FALSE(b.from_client(fixture("mcs_connect_initial_freerdp_tls.bin"), out));
    const Bytes ansi = client_info_pdu(rdpbridge::test::build_info_packet(
        1252, client_info::info_mouse, {{}, Bytes{'b', 'o', 'b'}, {}, {}, {}}, {}));
    out.clear();
    ASSERT_FALSE(b.from_client(ansi, out));
    EXPECT_EQ(out, ansi);
    EXPECT_TRUE(b.client_transparent());
    EXPECT_EQ(fact_value(b.take_facts(), "credentials_not_injected"),
              "Client Info without INFO_UNICODE (ANSI, code page 1252)");
}

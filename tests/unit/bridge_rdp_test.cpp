// The bridge against a Standard RDP Security host, with the test playing the host: the captured
// xrdp Connect Response (proprietary certificate, 128-bit, HIGH) and that host's private key let
// the test derive the host's view of the session keys from the client random it hands the bridge.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "client_info_fixture.hpp"
#include "fixtures.hpp"
#include "rdp/bridge.hpp"
#include "rdp/client_info.hpp"
#include "rdp/crypto.hpp"
#include "rdp/fastpath.hpp"
#include "rdp/gcc.hpp"
#include "rdp/gcc_network.hpp"
#include "rdp/mcs.hpp"
#include "rdp/rdpdr.hpp"
#include "rdp/security_header.hpp"
#include "rdp/server_security.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/utf16.hpp"
#include "rdp/virtual_channel.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::fixture;

namespace {

// A MAC that verifies; an OpenSSL error fails the test rather than passing as a mismatch.
bool verified(const Result<Opened>& opened) {
    EXPECT_TRUE(opened) << opened.error().message();
    return opened && *opened == Opened::verified;
}

constexpr uint16_t kIoChannel = 1003;
constexpr uint16_t kInitiator = 6;  // user 1007

Bytes ini_bytes(const std::string& key) {
    std::ifstream in(std::string(RDPBRIDGE_FIXTURES_DIR) + "/xrdp_rsakeys.ini");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(key + "=", 0) != 0) continue;
        Bytes out;
        std::regex byte("0x([0-9a-fA-F]{2})");
        for (auto it = std::sregex_iterator(line.begin(), line.end(), byte);
             it != std::sregex_iterator(); ++it)
            out.push_back(uint8_t(std::stoi((*it)[1], nullptr, 16)));
        return out;
    }
    ADD_FAILURE() << "no " << key << " in xrdp_rsakeys.ini";
    return {};
}

Bytes send_data(bool indication, uint16_t flags, ByteView body, bool with_header = true) {
    Bytes data;
    Writer w(data);
    if (with_header) {
        w.u16le(flags);
        w.u16le(0);
    }
    w.bytes(body);
    mcs::SendData sd;
    sd.indication = indication;
    sd.initiator = kInitiator;
    sd.channel = kIoChannel;
    return *mcs::encode_send_data(sd, data);
}

ByteView user_data_of(const Bytes& frame) {
    auto sd = mcs::decode_send_data(*unwrap_x224_data(frame));
    EXPECT_TRUE(sd);
    return sd->user_data;
}

std::vector<Bytes> pdus(const Bytes& stream) {
    return rdpbridge::test::split_pdus(stream);
}

class RdpHostBridge : public ::testing::Test {
  protected:
    void SetUp() override {
        BridgeParams p;
        p.client_requested = protocol::ssl;
        p.front_selected = protocol::ssl;
        p.back_selected = protocol::rdp;
        p.allowed_methods = encryption_method::bits128 | encryption_method::fips;
        for (std::size_t i = 0; i < 32; ++i) p.client_random[i] = uint8_t(0xA0 + i);
        client_random_.assign(p.client_random.begin(), p.client_random.end());
        adjust(p);
        bridge_ = std::make_unique<Bridge>(p);
        configure(*bridge_);

        Bytes to_host, to_client;
        ASSERT_FALSE(bridge_->from_client(fixture("mcs_connect_initial_freerdp_tls.bin"), to_host));
        const Bytes response = fixture("mcs_connect_response_xrdp_rdp.bin");
        ASSERT_FALSE(bridge_->from_host(response, to_client));
        client_view_response_ = to_client;

        auto cr = mcs::decode_connect_response(*unwrap_x224_data(response));
        auto security = decode_server_security(*cr->conference.find(gcc::block::sc_security));
        ASSERT_TRUE(security);
        server_random_ = security->server_random;
        modulus_ = security->certificate->key.modulus;
        auto derived = derive_session_keys(security->method, client_random_, server_random_);
        ASSERT_TRUE(derived.ok()) << derived.error().message();
        SessionKeys host = *derived;
        std::swap(host.encrypt_key, host.decrypt_key);  // the host encrypts with our decrypt key
        host_ = std::make_unique<StandardSecurity>(StandardSecurity::create(host).value());
    }

    virtual void adjust(BridgeParams&) {}
    virtual void configure(Bridge&) {}

    // Sends a Client Info PDU through the bridge and lets the host read it, so that both RC4
    // streams are where a real session would have them.
    void log_on() {
        Bytes to_host;
        ASSERT_FALSE(bridge_->from_client(send_data(false, sec::info_pkt, Bytes(8, 0)), to_host));
        const auto out = pdus(to_host);
        ASSERT_EQ(out.size(), 2u);
        Reader info(user_data_of(out[1]));
        ASSERT_TRUE(info.skip(4, "basic header"));
        const ByteView mac = *info.bytes(8, "mac");
        Bytes data(info.rest().begin(), info.rest().end());
        ASSERT_TRUE(verified(host_->open(data, mac.data(), false)));
    }

    Bytes client_random_, server_random_, modulus_, client_view_response_;
    std::unique_ptr<Bridge> bridge_;
    std::unique_ptr<StandardSecurity> host_;
};

}  // namespace

TEST_F(RdpHostBridge, ClientSeesWhatATlsServerSends) {
    auto cr = mcs::decode_connect_response(*unwrap_x224_data(client_view_response_));
    ASSERT_TRUE(cr);
    const auto* security = cr->conference.find(gcc::block::sc_security);
    ASSERT_TRUE(security);
    EXPECT_EQ(security->body, Bytes(8, 0));  // method NONE, level NONE, no random, no cert
    auto facts = bridge_->take_facts();
    bool cert_checked = false;
    for (auto& [k, v] : facts)
        if (k == "rdp_certificate") cert_checked = v.find("signature valid") != std::string::npos;
    EXPECT_TRUE(cert_checked);
}

TEST_F(RdpHostBridge, ClientInfoIsPrecededByTheSecurityExchangeAndEncrypted) {
    const Bytes info_body = {'I', 0, 'N', 0, 'F', 0, 'O', 0};
    Bytes to_host;
    ASSERT_FALSE(bridge_->from_client(send_data(false, sec::info_pkt, info_body), to_host));
    const auto out = pdus(to_host);
    ASSERT_EQ(out.size(), 2u);

    // 1. Security Exchange: the client random under the host's RSA key, little-endian, 8 zeros.
    Reader ex(user_data_of(out[0]));
    EXPECT_EQ(*ex.u16le("flags"), sec::exchange_pkt);
    ASSERT_TRUE(ex.skip(2, "flags_hi"));
    const uint32_t length = *ex.u32le("length");
    EXPECT_EQ(length, modulus_.size() + 8);
    const ByteView encrypted = *ex.bytes(length, "random");
    const Bytes d = ini_bytes("pri_exp");
    const Bytes recovered =
        crypto::rsa_public_le(encrypted.first(modulus_.size()), modulus_, d).value();
    EXPECT_EQ(Bytes(recovered.begin(), recovered.begin() + 32), client_random_);

    // 2. Client Info: SEC_INFO_PKT|SEC_ENCRYPT, MAC over the plaintext, RC4.
    Reader info(user_data_of(out[1]));
    EXPECT_EQ(*info.u16le("flags"), sec::info_pkt | sec::encrypt);
    ASSERT_TRUE(info.skip(2, "flags_hi"));
    const ByteView mac = *info.bytes(8, "mac");
    Bytes data(info.rest().begin(), info.rest().end());
    EXPECT_TRUE(verified(host_->open(data, mac.data(), false)));
    EXPECT_EQ(data, info_body);
}

TEST_F(RdpHostBridge, EncryptedLicenseErrorWithoutLicenseFlagReachesClientAsLicensePdu) {
    Bytes to_host;
    ASSERT_FALSE(bridge_->from_client(send_data(false, sec::info_pkt, Bytes(8, 0)), to_host));
    // STATUS_VALID_CLIENT / ST_NO_TRANSITION license error, as Server 2003 sends it: only
    // SEC_ENCRYPT in the header (the FreeRDP proxy failure case).
    const Bytes license = {0xFF, 0x03, 0x10, 0x00, 0x07, 0x00, 0x00, 0x00,
                           0x02, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00};
    const Sealed sealed = host_->seal(license).value();
    Bytes body(sealed.mac.begin(), sealed.mac.end());
    body.insert(body.end(), sealed.data.begin(), sealed.data.end());
    Bytes to_client;
    ASSERT_FALSE(bridge_->from_host(send_data(true, sec::encrypt, body), to_client));
    Reader r(user_data_of(to_client));
    EXPECT_EQ(*r.u16le("flags"), sec::license_pkt);  // what a TLS client requires
    ASSERT_TRUE(r.skip(2, "flags_hi"));
    EXPECT_EQ(Bytes(r.rest().begin(), r.rest().end()), license);
}

TEST_F(RdpHostBridge, TamperedHostPduIsNeverPassedOn) {
    Bytes to_host;
    ASSERT_FALSE(bridge_->from_client(send_data(false, sec::info_pkt, Bytes(8, 0)), to_host));
    const Bytes demand_active(40, 0x11);
    Sealed sealed = host_->seal(demand_active).value();
    sealed.data[5] ^= 0x01;
    Bytes body(sealed.mac.begin(), sealed.mac.end());
    body.insert(body.end(), sealed.data.begin(), sealed.data.end());
    Bytes to_client;
    auto failure = bridge_->from_host(send_data(true, sec::encrypt, body), to_client);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause, Cause::host_mac_mismatch);
    EXPECT_TRUE(to_client.empty());
}

TEST_F(RdpHostBridge, FastPathBothWays) {
    log_on();
    Bytes to_host;
    // Host -> client: encrypted fast-path output becomes plain.
    const Bytes update(300, 0x42);  // long enough for the two-byte length form
    const Sealed sealed = host_->seal(update).value();
    fastpath::Pdu out;
    out.header = uint8_t(sec::fastpath_encrypted << 6);
    out.mac = sealed.mac;
    Bytes to_client;
    ASSERT_FALSE(bridge_->from_host(*fastpath::encode(out, sealed.data), to_client));
    auto plain = fastpath::decode(to_client, false);
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->flags(), 0);
    EXPECT_EQ(Bytes(plain->data.begin(), plain->data.end()), update);

    // Client -> host: plain fast-path input (two events) becomes encrypted.
    fastpath::Pdu in;
    in.header = uint8_t(2 << 2);
    const Bytes events = {0x20, 0x00, 0x08, 0x10, 0x00, 0x20, 0x00, 0x20,
                          0x00, 0x08, 0x10, 0x00, 0x21, 0x00, 0x21, 0x00};
    Bytes stream = *fastpath::encode(in, events);
    to_host.clear();
    ASSERT_FALSE(bridge_->from_client(stream, to_host));
    auto sealed_in = fastpath::decode(to_host, false);
    ASSERT_TRUE(sealed_in);
    EXPECT_EQ(sealed_in->flags(), sec::fastpath_encrypted);
    EXPECT_EQ(sealed_in->header & 0x3F, in.header);
    Bytes data(sealed_in->data.begin(), sealed_in->data.end());
    EXPECT_TRUE(verified(host_->open(data, sealed_in->mac->data(), false)));
    EXPECT_EQ(data, events);
}

// Auto-logon towards a Standard RDP Security host: the client's Client Info (mstsc's, without a
// password) takes the delegated credentials before it is sealed.
class RdpHostBridgeAutoLogon : public RdpHostBridge {
  protected:
    void configure(Bridge& b) override {
        b.set_auto_logon(rdpbridge::test::delegated_credentials());
    }
};

TEST_F(RdpHostBridgeAutoLogon, ClientInfoTakesTheDelegatedPasswordBeforeItIsSealed) {
    const Bytes mstsc = rdpbridge::test::mstsc_style_info_packet();
    Bytes to_host;
    ASSERT_FALSE(bridge_->from_client(rdpbridge::test::client_info_pdu(mstsc), to_host));
    const auto out = pdus(to_host);
    ASSERT_EQ(out.size(), 2u);  // Security Exchange, Client Info
    Reader info(user_data_of(out[1]));
    EXPECT_EQ(*info.u16le("flags"), sec::info_pkt | sec::encrypt);
    ASSERT_TRUE(info.skip(2, "flags_hi"));
    const ByteView mac = *info.bytes(8, "mac");
    Bytes data(info.rest().begin(), info.rest().end());
    ASSERT_TRUE(verified(host_->open(data, mac.data(), false)));
    // Never in clear on the wire.
    const Bytes password = rdpbridge::test::utf16("labpass-Secret1");
    EXPECT_EQ(std::search(to_host.begin(), to_host.end(), password.begin(), password.end()),
              to_host.end());

    auto decoded = client_info::decode(data);
    ASSERT_TRUE(decoded) << decoded.error().message();
    EXPECT_EQ(Bytes(decoded->password.begin(), decoded->password.end()), password);
    EXPECT_EQ(*utf16le_to_utf8(decoded->domain, "d"), "LAB");
    EXPECT_EQ(*utf16le_to_utf8(decoded->user_name, "u"), "labuser");
    EXPECT_TRUE(decoded->flags & client_info::info_autologon);
    const auto before = *client_info::decode(mstsc);
    EXPECT_EQ(decoded->flags, before.flags | client_info::info_autologon);
    EXPECT_EQ(Bytes(decoded->extended.begin(), decoded->extended.end()),
              Bytes(before.extended.begin(), before.extended.end()));

    bool injected = false;
    for (auto& [k, v] : bridge_->take_facts()) {
        if (k == "credentials_injected") injected = v == "labuser";
        EXPECT_EQ(v.find("labpass"), std::string::npos) << k;
    }
    EXPECT_TRUE(injected);

    // Later PDUs are sealed as before, without looking for another Client Info.
    to_host.clear();
    ASSERT_FALSE(bridge_->from_client(send_data(false, sec::info_pkt, Bytes(8, 0)), to_host));
    Reader again(user_data_of(to_host));
    ASSERT_TRUE(again.skip(4, "basic header"));
    const ByteView mac2 = *again.bytes(8, "mac");
    Bytes data2(again.rest().begin(), again.rest().end());
    ASSERT_TRUE(verified(host_->open(data2, mac2.data(), false)));
    EXPECT_EQ(data2, Bytes(8, 0));
}

TEST_F(RdpHostBridgeAutoLogon, RealFreeRdpClientInfoIsRewrittenToo) {
    Bytes to_host;
    ASSERT_FALSE(bridge_->from_client(rdpbridge::test::real_client_info_pdu(), to_host));
    const auto out = pdus(to_host);
    ASSERT_EQ(out.size(), 2u);
    Reader info(user_data_of(out[1]));
    ASSERT_TRUE(info.skip(4, "basic header"));
    const ByteView mac = *info.bytes(8, "mac");
    Bytes data(info.rest().begin(), info.rest().end());
    ASSERT_TRUE(verified(host_->open(data, mac.data(), false)));
    auto decoded = client_info::decode(data);
    ASSERT_TRUE(decoded);
    EXPECT_EQ(*utf16le_to_utf8(decoded->domain, "d"), "LAB");  // was empty
    // Apart from the domain, FreeRDP's packet already held these credentials.
    Bytes expected = rdpbridge::test::info_packet_of_pdu(rdpbridge::test::real_client_info_pdu());
    expected[8] = 6;  // cbDomain
    const Bytes lab = rdpbridge::test::utf16("LAB");
    expected.insert(expected.begin() + 18, lab.begin(), lab.end());
    EXPECT_EQ(data, expected);
}

TEST_F(RdpHostBridgeAutoLogon, TruncatedClientInfoFailsBeforeAnythingIsSealed) {
    const Bytes info = rdpbridge::test::info_packet_of_pdu(rdpbridge::test::real_client_info_pdu());
    Bytes to_host;
    auto failure =
        bridge_->from_client(rdpbridge::test::client_info_pdu(ByteView(info).first(50)), to_host);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause, Cause::client_mcs_malformed);
    EXPECT_EQ(failure->detail.rfind("client_info.Password", 0), 0u) << failure->detail;
    EXPECT_EQ(failure->detail.find("labpass"), std::string::npos);
    EXPECT_EQ(bridge_->pdus_sealed(), 0u);
}

TEST(RdpHostBridgeShield, MsT120ChannelIsRefusedBeforeTheHost) {
    auto ci = mcs::decode_connect_initial(
        *unwrap_x224_data(fixture("mcs_connect_initial_freerdp_tls.bin")));
    auto* net = ci->conference.find(gcc::block::cs_net);
    // Rename the first channel to "ms_t120" (any case counts).
    const char name[8] = {'m', 's', '_', 't', '1', '2', '0', 0};
    std::copy(name, name + 8, net->body.begin() + 4);
    BridgeParams p;
    p.client_requested = p.front_selected = p.back_selected = protocol::ssl;
    Bridge b(p);
    Bytes to_host;
    auto failure = b.from_client(*mcs::encode(*ci), to_host);
    ASSERT_TRUE(failure);
    EXPECT_EQ(failure->cause, Cause::client_requested_ms_t120);
    EXPECT_TRUE(to_host.empty());
    p.refuse_ms_t120 = false;
    Bridge lenient(p);
    EXPECT_FALSE(lenient.from_client(*mcs::encode(*ci), to_host));
    EXPECT_FALSE(to_host.empty());
}

namespace {

// rdpdr devices are filtered on this leg too, from the plaintext, before sealing.
class RdpHostBridgeDevicePolicy : public RdpHostBridge {
    void adjust(BridgeParams& p) override { p.channels.deny_devices = {rdpdr::device::drive}; }
};

}  // namespace

TEST_F(RdpHostBridgeDevicePolicy, DeviceListReachesTheHostSealedAndWithoutTheDrive) {
    log_on();
    // The host's id for rdpdr, the client's first channel, as this host's SC_NET gives it.
    auto cr = mcs::decode_connect_response(*unwrap_x224_data(client_view_response_));
    const auto net = gcc::decode_server_network(*cr->conference.find(gcc::block::sc_net));
    ASSERT_TRUE(net);
    ASSERT_FALSE(net->channel_ids.empty());
    const Bytes captured = fixture("session_channels/c2s_26_rdpdr_client_device_list_announce.bin");
    mcs::SendData sd = *mcs::decode_send_data(*unwrap_x224_data(captured));
    sd.channel = net->channel_ids[0];
    const Bytes announce = *mcs::encode_send_data(sd, sd.user_data);

    Bytes to_host;
    ASSERT_FALSE(bridge_->from_client(announce, to_host));
    const auto out = pdus(to_host);
    ASSERT_EQ(out.size(), 1u);
    Reader r(user_data_of(out[0]));
    EXPECT_EQ(*r.u16le("flags"), sec::encrypt);
    ASSERT_TRUE(r.skip(2, "flags_hi"));
    const ByteView mac = *r.bytes(8, "mac");
    Bytes data(r.rest().begin(), r.rest().end());
    ASSERT_TRUE(verified(host_->open(data, mac.data(), false)));
    auto chunk = vc::decode_chunk(data);
    ASSERT_TRUE(chunk);
    auto devices = rdpdr::decode_device_list_announce(chunk->data);
    ASSERT_TRUE(devices) << devices.error().message();
    ASSERT_EQ(devices->size(), 3u);
    for (const auto& d : *devices) EXPECT_NE(d.type, rdpdr::device::drive);
    EXPECT_EQ(bridge_->devices_refused(), 1u);
}

// The probe's own PDUs and its reading of the host's answers, against the rdp/ codecs and the
// captured xrdp fixtures.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <fstream>
#include <sstream>

#include "fixtures.hpp"
#include "proxy/probe/layers.hpp"
#include "proxy/probe/pdus.hpp"
#include "proxy/probe/rdp_security_scan.hpp"
#include "rdp/mcs.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/x224.hpp"

using namespace rdpbridge;
using namespace rdpbridge::probe;
using rdpbridge::test::fixture;

namespace {

rdp::mcs::ConnectPdu decode_initial(const rdp::Bytes& frame) {
    auto payload = rdp::unwrap_x224_data(frame);
    EXPECT_TRUE(payload) << payload.error().message();
    auto pdu = rdp::mcs::decode_connect_initial(*payload);
    EXPECT_TRUE(pdu) << pdu.error().message();
    return *pdu;
}

LayerRequest request(const char* name, uint32_t protocols) {
    return {name, protocols};
}

// "key=0x01,0x00,..." from xrdp_rsakeys.ini, as bytes in the file's order.
rdp::Bytes rsakeys_bytes(const std::string& key) {
    std::ifstream in(std::string(RDPBRIDGE_FIXTURES_DIR) + "/xrdp_rsakeys.ini");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(key + "=", 0) != 0) continue;
        rdp::Bytes out;
        std::istringstream items(line.substr(key.size() + 1));
        for (std::string item; std::getline(items, item, ',');)
            out.push_back(static_cast<uint8_t>(std::stoul(item, nullptr, 16)));
        return out;
    }
    ADD_FAILURE() << "no " << key << " in xrdp_rsakeys.ini";
    return {};
}

std::string rsakeys_fingerprint() {
    rdp::Bytes data = rsakeys_bytes("pub_mod");
    const rdp::Bytes exponent = rsakeys_bytes("pub_exp");
    data.insert(data.end(), exponent.begin(), exponent.end());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EXPECT_EQ(EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr), 1);
    static const char digits[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < len; ++i) {
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 15];
    }
    return hex;
}

}  // namespace

TEST(ProbePdus, ConnectionRequestCarriesTheCookieAndTheOffer) {
    auto cr = rdp::decode_connection_request(connection_request(rdp::protocol::ssl));
    ASSERT_TRUE(cr) << cr.error().message();
    EXPECT_EQ(cr->mstshash, kProbeCookie);
    ASSERT_TRUE(cr->negotiation);
    EXPECT_EQ(cr->negotiation->requested_protocols, rdp::protocol::ssl);

    auto legacy = rdp::decode_connection_request(connection_request(0, false));
    ASSERT_TRUE(legacy);
    EXPECT_FALSE(legacy->negotiation);
}

TEST(ProbePdus, ConnectInitialIsWhatARealClientSendsMinusTheChannels) {
    auto ours = connect_initial(rdp::encryption_method::bits56, rdp::protocol::rdp);
    ASSERT_TRUE(ours) << ours.error().message();
    const auto pdu = decode_initial(*ours);
    const auto freerdp = decode_initial(fixture("mcs_connect_initial_freerdp.bin"));
    // The envelope is byte for byte FreeRDP's: domain parameters and the GCC preamble.
    EXPECT_EQ(pdu.fields_before_user_data, freerdp.fields_before_user_data);
    EXPECT_EQ(pdu.conference.connect_pdu_header, freerdp.conference.connect_pdu_header);

    ASSERT_EQ(pdu.conference.blocks.size(), 3u);
    const auto* core = pdu.conference.find(rdp::gcc::block::cs_core);
    ASSERT_TRUE(core);
    EXPECT_EQ(core->body.size(), 212u);  // up to and including serverSelectedProtocol
    EXPECT_EQ(rdp::gcc::server_selected_protocol(*core), rdp::protocol::rdp);
    EXPECT_EQ(rdp::load_u32le(core->body.data()), 0x00080004u);

    const auto* security = pdu.conference.find(rdp::gcc::block::cs_security);
    ASSERT_TRUE(security);
    ASSERT_EQ(security->body.size(), 8u);
    EXPECT_EQ(rdp::load_u32le(security->body.data()), rdp::encryption_method::bits56);

    const auto* net = pdu.conference.find(rdp::gcc::block::cs_net);
    ASSERT_TRUE(net);
    auto channels = rdp::gcc::channel_names(*net);
    ASSERT_TRUE(channels);
    EXPECT_TRUE(channels->empty());  // nothing to ask for, MS_T120 least of all
}

// The bytes the probe sent before its encoders moved into rdp/client_data.cpp, pinned: a host
// that answered the probe then must see the same PDUs now.
TEST(ProbePdus, PduBytesArePinned) {
    EXPECT_EQ(*connect_initial(rdp::encryption_method::bits56, rdp::protocol::rdp),
              fixture("probe/connect_initial_56bit_rdp.bin"));
    EXPECT_EQ(*connect_initial(rdp::encryption_method::fips, rdp::protocol::ssl),
              fixture("probe/connect_initial_fips_ssl.bin"));
    EXPECT_EQ(connection_request(rdp::protocol::ssl), fixture("probe/connection_request_ssl.bin"));
    EXPECT_EQ(connection_request(0, false), fixture("probe/connection_request_legacy.bin"));
}

TEST(ProbeLayers, ReadsXrdpConfirms) {
    const auto ssl = interpret_frame(request("SSL", 1), fixture("x224_cc_xrdp_tls.bin"));
    EXPECT_EQ(ssl.answer, LayerAnswer::selected);
    EXPECT_EQ(ssl.selected, rdp::protocol::ssl);
    EXPECT_EQ(ssl.flags, rdp::neg_rsp_flags::extended_client_data_supported);

    const auto failure =
        interpret_frame(request("RDP", 0), fixture("x224_cc_xrdp_tls_failure.bin"));
    EXPECT_EQ(failure.answer, LayerAnswer::failure);
    EXPECT_EQ(failure.failure, rdp::NegFailureCode::ssl_required_by_server);

    const auto bare = interpret_frame(request("RDP", 0), fixture("x224_cc_xrdp_rdp.bin"));
    EXPECT_EQ(bare.answer, LayerAnswer::no_negotiation);
}

TEST(ProbeLayers, AnMcsDisconnectInsteadOfAConfirmIsARefusal) {
    // What xrdp 0.9.21 sends for SSL|HYBRID|RDSTLS|HYBRID_EX: X.224 DT + Disconnect Provider
    // Ultimatum.
    const rdp::Bytes dpum{0x03, 0x00, 0x00, 0x09, 0x02, 0xF0, 0x80, 0x21, 0x80};
    const auto r = interpret_frame(request("ALL", 0x0F), dpum);
    EXPECT_EQ(r.answer, LayerAnswer::other_pdu);
    EXPECT_NE(r.detail.find("Disconnect Provider Ultimatum"), std::string::npos);
}

TEST(ProbeLayers, NamesForeignServices) {
    auto text = [](std::string_view s) {
        return describe_foreign_bytes(
            rdp::ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
    };
    EXPECT_NE(text("HTTP/1.0 400 Bad request\r\n").find("an HTTP server"), std::string::npos);
    EXPECT_NE(text("<!DOCTYPE HTML>\n<html>").find("an HTTP server"), std::string::npos);
    EXPECT_NE(text("SSH-2.0-OpenSSH_9.2\r\n").find("an SSH server"), std::string::npos);
    const rdp::Bytes tls{0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46};
    EXPECT_NE(describe_foreign_bytes(tls).find("TLS"), std::string::npos);
}

TEST(ProbeLayers, DerivedFacts) {
    std::vector<LayerResult> layers(2);
    layers[0].requested = rdp::protocol::rdp;
    layers[0].answer = LayerAnswer::failure;
    layers[0].failure = rdp::NegFailureCode::hybrid_required_by_server;
    layers[1].requested = rdp::protocol::hybrid | rdp::protocol::ssl;
    layers[1].answer = LayerAnswer::selected;
    layers[1].selected = rdp::protocol::hybrid;
    EXPECT_EQ(tls_request(layers), rdp::protocol::hybrid | rdp::protocol::ssl);
    EXPECT_FALSE(standard_rdp_offered(layers));
    const auto nla = nla_findings(layers);
    EXPECT_TRUE(nla.required);
    EXPECT_TRUE(nla.supported);
    EXPECT_TRUE(nla.credssp_version.empty());  // never guessed
}

TEST(ProbeRdpSecurity, ReadsXrdpConnectResponse) {
    RdpSecurityFindings findings;
    const auto m = interpret_connect_response(
        rdp::encryption_method::bits128, fixture("mcs_connect_response_xrdp_rdp.bin"), findings);
    EXPECT_EQ(m.outcome, MethodOutcome::accepted) << m.detail;
    EXPECT_EQ(m.selected, rdp::encryption_method::bits128);
    EXPECT_EQ(m.level, rdp::EncryptionLevel::high);
    EXPECT_EQ(findings.server_version, 0x00080004u);
    ASSERT_TRUE(findings.certificate);
    EXPECT_EQ(findings.certificate->kind, rdp::CertificateKind::proprietary);
    EXPECT_EQ(findings.certificate->key_bits, 2048u);
    EXPECT_EQ(findings.certificate->signature_valid, true);
    // The fingerprint rdp::rdp_key_sha256 defines, recomputed from the lab's key file rather
    // than from the wire: the modulus little-endian as xrdp stores it, then the exponent.
    EXPECT_EQ(findings.certificate->key_sha256, rsakeys_fingerprint());

    RdpSecurityFindings again;
    const auto overridden = interpret_connect_response(
        rdp::encryption_method::bits40, fixture("mcs_connect_response_xrdp_rdp.bin"), again);
    EXPECT_EQ(overridden.outcome, MethodOutcome::overridden);
}

// What a client that skipped the X.224 preamble is speaking, from its first bytes.
#include <gtest/gtest.h>

#include <string_view>

#include "rdp/first_bytes.hpp"

using namespace rdpbridge::rdp;

namespace {

Cause classify(std::string_view text) {
    return classify_first_bytes(
        ByteView(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

}  // namespace

TEST(FirstBytes, ATlsClientHelloIsTls) {
    // A handshake record of TLS 1.0 to 1.3 (they all say 3.x in the record layer).
    EXPECT_EQ(classify_first_bytes(Bytes{0x16, 0x03, 0x01, 0x02, 0x00}), Cause::client_spoke_tls);
    EXPECT_EQ(classify_first_bytes(Bytes{0x16}), Cause::client_not_rdp);  // too little to say
}

TEST(FirstBytes, HttpAndRdGatewayVerbsAreHttp) {
    EXPECT_EQ(classify("GET / HTTP/1.1\r\n"), Cause::client_spoke_http);
    EXPECT_EQ(classify("RDG_OUT_DATA /remoteDesktopGateway/ HTTP/1.1"), Cause::client_spoke_http);
    EXPECT_EQ(classify("OPT"), Cause::client_spoke_http);  // a verb still arriving
    EXPECT_EQ(classify("GE"), Cause::client_not_rdp);      // too short to tell
}

TEST(FirstBytes, AnythingElseIsNotRdp) {
    EXPECT_EQ(classify("SSH-2.0-OpenSSH_9.2\r\n"), Cause::client_not_rdp);
    EXPECT_EQ(classify(""), Cause::client_not_rdp);
    EXPECT_EQ(classify("GETX"), Cause::client_not_rdp);
}

TEST(FirstBytes, TlsRecordsOfEveryContentType) {
    EXPECT_TRUE(is_tls_record(Bytes{0x15, 0x03, 0x01}));   // an alert: a TLS server refusing
    EXPECT_TRUE(is_tls_record(Bytes{0x17, 0x03, 0x03}));   // application data
    EXPECT_FALSE(is_tls_record(Bytes{0x18, 0x03, 0x03}));  // heartbeat is not what we meet
    EXPECT_FALSE(is_tls_record(Bytes{0x03, 0x00, 0x00}));  // TPKT
    EXPECT_FALSE(is_tls_record(Bytes{0x16}));
}

// Client Info PDUs for the auto-logon tests, from real captures (tests/fixtures/README.md):
//  - session_tls/c2s_10.bin: FreeRDP 2.11's Client Info, decrypted from TLS (user labuser,
//    lab password, INFO_AUTOLOGON already set, FreeRDP's extended info);
//  - credssp/xfreerdp_v6_5_ts_credentials.bin: the TSCredentials FreeRDP delegated over NLA
//    (LAB / labuser / the lab password).
// mstsc after NLA sends its Client Info with an empty password and without INFO_AUTOLOGON;
// mstsc_style_info_packet() derives that form from FreeRDP's, written here field by field
// (independently of rdp/client_info), keeping FreeRDP's extended info.
#pragma once

#include <string>
#include <vector>

#include "fixtures.hpp"
#include "rdp/client_info.hpp"
#include "rdp/credssp.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/tpkt.hpp"
#include "rdp/utf16.hpp"

namespace rdpbridge::test {

inline rdp::Bytes real_client_info_pdu() {
    return fixture("session_tls/c2s_10.bin");
}

// The Send Data Request's user data: basic security header, then the TS_INFO_PACKET.
inline rdp::Bytes user_data_of_pdu(const rdp::Bytes& pdu) {
    auto sd = rdp::mcs::decode_send_data(*rdp::unwrap_x224_data(pdu));
    EXPECT_TRUE(sd);
    return rdp::Bytes(sd->user_data.begin(), sd->user_data.end());
}

inline rdp::Bytes info_packet_of_pdu(const rdp::Bytes& pdu) {
    const rdp::Bytes user_data = user_data_of_pdu(pdu);
    return rdp::Bytes(user_data.begin() + 4, user_data.end());
}

inline rdp::Bytes utf16(const std::string& s) {
    return *rdp::utf8_to_utf16le(s, "test");
}

// A TS_INFO_PACKET from its parts, Unicode (2-byte terminators) or ANSI (1-byte).
inline rdp::Bytes build_info_packet(uint32_t code_page, uint32_t flags,
                                    const std::vector<rdp::Bytes>& strings,
                                    rdp::ByteView extended) {
    const std::size_t terminator = (flags & rdp::client_info::info_unicode) ? 2 : 1;
    rdp::Bytes out;
    rdp::Writer w(out);
    w.u32le(code_page);
    w.u32le(flags);
    for (const auto& s : strings) w.u16le(uint16_t(s.size()));
    for (const auto& s : strings) {
        w.bytes(s);
        for (std::size_t i = 0; i < terminator; ++i) w.u8(0);
    }
    w.bytes(extended);
    return out;
}

// FreeRDP's extended info (everything after the fixed part and the five strings, each with its
// terminator: domain 0, user 14, password 30, shell 0, directory 0 bytes).
inline rdp::Bytes real_extended_info() {
    const rdp::Bytes info = info_packet_of_pdu(real_client_info_pdu());
    const std::size_t strings_end = 18 + (0 + 2) + (14 + 2) + (30 + 2) + (0 + 2) + (0 + 2);
    return rdp::Bytes(info.begin() + long(strings_end), info.end());
}

inline constexpr uint32_t kFreeRdpFlags = 0x000b47fb;

// What mstsc sends after NLA: user name, no domain, no password, no INFO_AUTOLOGON.
inline rdp::Bytes mstsc_style_info_packet() {
    return build_info_packet(0, kFreeRdpFlags & ~rdp::client_info::info_autologon,
                             {{}, utf16("labuser"), {}, {}, {}}, real_extended_info());
}

// The whole PDU around a TS_INFO_PACKET, as FreeRDP frames it (on the I/O channel, 1003).
inline rdp::Bytes client_info_pdu(rdp::ByteView info_packet, uint16_t security_flags = 0x0040) {
    rdp::Bytes user_data;
    rdp::Writer w(user_data);
    w.u16le(security_flags);
    w.u16le(0);
    w.bytes(info_packet);
    rdp::mcs::SendData sd;
    sd.initiator = 6;
    sd.channel = 1003;
    return *rdp::mcs::encode_send_data(sd, user_data);
}

inline rdp::credssp::PasswordCredentials delegated_credentials() {
    auto decoded =
        rdp::credssp::decode_ts_credentials(fixture("credssp/xfreerdp_v6_5_ts_credentials.bin"));
    EXPECT_TRUE(decoded);
    return std::get<rdp::credssp::PasswordCredentials>(std::move(*decoded));
}

inline rdp::credssp::PasswordCredentials credentials(const std::string& domain,
                                                     const std::string& user,
                                                     const std::string& password) {
    return {domain, user, rdp::Secret(utf16(password))};
}

}  // namespace rdpbridge::test

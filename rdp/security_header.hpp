// Security header flags and forms ([MS-RDPBCGR] 2.2.8.1.1.2). Under TLS only a few PDUs carry a
// 4-byte basic header; under Standard RDP Security every PDU after the Security Exchange does,
// followed by an 8-byte MAC (non-FIPS) or a FIPS block, when the PDU is encrypted.
#pragma once

#include <cstdint>
#include <string>

namespace rdpbridge::rdp::sec {

inline constexpr uint16_t exchange_pkt = 0x0001;
inline constexpr uint16_t transport_req = 0x0002;
inline constexpr uint16_t transport_rsp = 0x0004;
inline constexpr uint16_t encrypt = 0x0008;
inline constexpr uint16_t reset_seqno = 0x0010;
inline constexpr uint16_t ignore_seqno = 0x0020;
inline constexpr uint16_t info_pkt = 0x0040;
inline constexpr uint16_t license_pkt = 0x0080;
inline constexpr uint16_t license_encrypt = 0x0200;  // _CS from the server, _SC from the client
inline constexpr uint16_t redirection_pkt = 0x0400;
inline constexpr uint16_t secure_checksum = 0x0800;
inline constexpr uint16_t autodetect_req = 0x1000;
inline constexpr uint16_t autodetect_rsp = 0x2000;
inline constexpr uint16_t heartbeat = 0x4000;
inline constexpr uint16_t flags_hi_valid = 0x8000;

inline constexpr std::size_t kBasicSize = 4;
inline constexpr std::size_t kMacSize = 8;
inline constexpr std::size_t kNonFipsSize = kBasicSize + kMacSize;
inline constexpr std::size_t kFipsSize = kBasicSize + 4 + kMacSize;
inline constexpr uint16_t kFipsHeaderLength = 0x10;
inline constexpr uint8_t kFipsVersion = 1;

// Fast-path header flag bits (the top two bits of the first byte, shifted down).
inline constexpr uint8_t fastpath_secure_checksum = 0x1;
inline constexpr uint8_t fastpath_encrypted = 0x2;

}  // namespace rdpbridge::rdp::sec

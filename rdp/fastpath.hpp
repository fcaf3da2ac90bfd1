// Fast-path PDUs ([MS-RDPBCGR] 2.2.8.1.2 input, 2.2.9.1.2 output): a one-byte header (action,
// event count or reserved bits, and two security flags), a one- or two-byte length counting the
// whole PDU, then — when encrypted — the FIPS information and the 8-byte signature.
#pragma once

#include <array>
#include <optional>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::fastpath {

inline constexpr std::size_t kMaxLength = 0x7FFF;

struct Pdu {
    uint8_t header = 0;  // the first byte, security flags included
    uint8_t flags() const { return header >> 6; }
    std::optional<uint8_t> fips_padding;        // present when fipsInformation was
    std::optional<std::array<uint8_t, 8>> mac;  // present when encrypted
    ByteView data;  // what follows: events/updates (encrypted or not), into the decoded frame
};

// `fips` says whether fipsInformation precedes the signature (only for encrypted PDUs).
Result<Pdu> decode(ByteView frame, bool fips);
// Re-encodes with the header's flags as given; `mac`/`fips_padding` (0..7) are written when set.
Result<Bytes> encode(const Pdu& pdu, ByteView data);

}  // namespace rdpbridge::rdp::fastpath

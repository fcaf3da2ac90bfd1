// Framing of an RDP byte stream into PDUs. Slow-path PDUs travel in TPKT (RFC 1006) with an
// X.224 header; fast-path PDUs (first byte's low two bits 0) carry their own 1- or 2-byte
// length. Both lengths count the whole PDU, so one peek tells how many bytes to wait for.
#pragma once

#include <optional>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp {

inline constexpr uint8_t kTpktVersion = 3;
inline constexpr std::size_t kTpktHeaderSize = 4;
inline constexpr std::size_t kX224DataHeaderSize = 3;  // LI=2, DT code 0xF0, EOT 0x80

enum class FrameKind { tpkt, fastpath };

struct FrameHeader {
    FrameKind kind;
    std::size_t length;  // of the whole PDU, header included
};

// Whether the first byte is TPKT's version: what an X.224 exchange (no fast-path yet) must
// start with; anything else is another protocol, or garbage.
inline bool starts_like_tpkt(ByteView buffered) {
    return !buffered.empty() && buffered[0] == kTpktVersion;
}

// Inspects the start of buffered stream bytes. nullopt: not enough bytes yet to know the
// length. Error: the bytes cannot start an RDP PDU (the caller should give up on the stream).
Result<std::optional<FrameHeader>> peek_frame(ByteView buffered);

// TPKT + X.224 Data TPDU around an MCS payload, the form of every slow-path PDU after the
// connection request.
Bytes wrap_x224_data(ByteView payload);
// The payload of one complete TPKT frame holding an X.224 Data TPDU.
Result<ByteView> unwrap_x224_data(ByteView frame);

// Writes the 4-byte TPKT header for a PDU of `total` bytes (header included).
void write_tpkt_header(Writer& w, std::size_t total);
// Validates a complete TPKT frame's header against its size and returns what follows it.
Result<ByteView> tpkt_body(ByteView frame, const char* what);

}  // namespace rdpbridge::rdp

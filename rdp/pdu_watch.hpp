// Watches the host -> client byte stream of a TLS session for the two PDUs that say why a host
// is about to hang up: the Set Error Info PDU ([MS-RDPBCGR] 2.2.5.1, a Share Data PDU with
// pduType2 PDUTYPE2_SET_ERROR_INFO_PDU 0x2F) and the MCS Disconnect Provider Ultimatum (T.125).
//
// It sits beside the relay, not in it: it walks PDU boundaries (TPKT and fast-path lengths, as
// peek_frame reads them), keeps at most the first kHeadSize bytes of each slow-path PDU —
// enough for TPKT (4) + X.224 (3) + MCS Send Data Indication (up to 8) + Share Control Header
// (6) + Share Data Header (12) + errorInfo (4) — and counts its way over everything else,
// fast-path PDUs entirely. Memory is constant, nothing is copied beyond those bytes, and a chunk
// may end anywhere, inside a header included.
//
// What it checks is what it needs to stay in step: the framing (TPKT version and length,
// fast-path length, max_pdu), the X.224 header, and the lengths of MCS Send Data PDUs. A stream
// that breaks those stops being RDP: feed() returns an Error naming the field, and the watcher
// stays failed (every later feed returns the same Error and adds no events).
//
// Under TLS ordinary slow-path PDUs carry no security header, so a Set Error Info PDU is
// recognised by its own headers: Share Control Header totalLength equal to the MCS user data
// length, pduType type bits 7 (PDUTYPE_DATAPDU), Share Data Header pduType2 0x2F. A compressed
// one (PACKET_COMPRESSED in compressedType, which the spec says SHOULD NOT happen) is skipped.
// Events are reported once their PDU is complete.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "rdp/bytes.hpp"
#include "rdp/tpkt.hpp"

namespace rdpbridge::rdp {

inline constexpr uint8_t kPduType2SetErrorInfo = 0x2F;

struct WatchEvent {
    enum class Kind : uint8_t {
        set_error_info,        // code: the errorInfo (see error_info.hpp)
        disconnect_ultimatum,  // code: the T.125 reason (0 domain disconnected .. 4 channel purged)
    };
    Kind kind;
    uint32_t code;

    bool operator==(const WatchEvent&) const = default;
};

class PduWatch {
  public:
    // Bytes of each slow-path PDU kept for inspection.
    static constexpr std::size_t kHeadSize = 64;

    // max_pdu: the largest PDU accepted (header included); a longer one is an Error.
    explicit PduWatch(std::size_t max_pdu = 0xFFFF);

    // Walks the next bytes of the stream. nullopt while the stream is RDP; otherwise the Error
    // that stopped the watcher (the same one on every later call).
    std::optional<Error> feed(ByteView chunk);
    // The events found since the last call, in stream order.
    std::vector<WatchEvent> take_events();

    // For the end of the stream: the watcher's Error if it failed, an Error naming the length
    // whose PDU was cut if the stream stopped inside a PDU, nullopt on a PDU boundary.
    std::optional<Error> finish() const;

    bool failed() const { return error_.has_value(); }
    // Complete PDUs walked so far (slow-path and fast-path).
    std::size_t pdu_count() const { return pdus_; }
    // Stream bytes consumed so far.
    uint64_t offset() const { return offset_; }

  private:
    std::optional<Error> fail(Error e);
    // Inspects the completed slow-path PDU held in head_; Error when its headers are not RDP.
    std::optional<Error> inspect();
    // How many header bytes to hold before peek_frame can tell the PDU's length.
    std::size_t header_bytes_wanted() const;
    void reset_pdu();

    std::size_t max_pdu_;
    std::array<uint8_t, kHeadSize> head_{};
    std::size_t head_len_ = 0;  // bytes of the current PDU held in head_
    std::size_t length_ = 0;    // the current PDU's announced length; 0 while unknown
    std::size_t seen_ = 0;      // bytes of the current PDU consumed
    FrameKind kind_ = FrameKind::tpkt;
    uint64_t pdu_start_ = 0;  // stream offset of the current PDU
    uint64_t offset_ = 0;
    std::size_t pdus_ = 0;
    std::vector<WatchEvent> events_;
    std::optional<Error> error_;
};

}  // namespace rdpbridge::rdp

// Static virtual channel PDUs ([MS-RDPBCGR] 2.2.6.1): each Send Data carries one chunk of a
// channel message behind a CHANNEL_PDU_HEADER (the whole message's length and CHANNEL_FLAG_*).
// A message longer than the chunk size the peers agreed on spans several chunks, the first
// flagged FIRST and the last LAST; the Reassembler puts them back together, within a bound, so
// a message can be read and rewritten whole; chunk() splits a message again.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::vc {

namespace flag {
inline constexpr uint32_t first = 0x00000001;
inline constexpr uint32_t last = 0x00000002;
inline constexpr uint32_t show_protocol = 0x00000010;
inline constexpr uint32_t compressed = 0x00200000;  // CHANNEL_FLAG_PACKET_COMPRESSED
}  // namespace flag

inline constexpr std::size_t kHeaderSize = 8;
// CHANNEL_CHUNK_LENGTH: what every RDP server accepts, whatever it announced.
inline constexpr std::size_t kDefaultChunkSize = 1600;

struct Chunk {
    uint32_t total_length = 0;  // of the whole message
    uint32_t flags = 0;
    ByteView data;  // this chunk's part of it
};

Result<Chunk> decode_chunk(ByteView user_data);

// One channel's chunks, in order, back into messages.
class Reassembler {
  public:
    explicit Reassembler(std::size_t limit) : limit_(limit) {}

    // The whole message once `chunk` completes it, nullopt while more are due. An Error for a
    // chunk out of sequence or a message over the limit; the partial message is discarded.
    Result<std::optional<Bytes>> add(const Chunk& chunk);
    bool in_progress() const { return in_progress_; }
    std::size_t largest_chunk() const { return largest_chunk_; }

  private:
    std::size_t limit_;
    bool in_progress_ = false;
    uint32_t declared_ = 0;
    Bytes message_;
    std::size_t largest_chunk_ = 0;
};

// The Send Data user data (header + data) of each chunk of `message`, at most `chunk_size` data
// bytes each; `flags` is applied to every chunk beside FIRST and LAST.
std::vector<Bytes> chunk(ByteView message, uint32_t flags, std::size_t chunk_size);

}  // namespace rdpbridge::rdp::vc

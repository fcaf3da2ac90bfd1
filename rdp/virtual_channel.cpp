#include "rdp/virtual_channel.hpp"

#include <algorithm>

namespace rdpbridge::rdp::vc {

Result<Chunk> decode_chunk(ByteView user_data) {
    Reader r(user_data);
    auto length = r.u32le("channel_pdu_header.length");
    if (!length) return length.error();
    auto flags = r.u32le("channel_pdu_header.flags");
    if (!flags) return flags.error();
    return Chunk{*length, *flags, r.rest()};
}

Result<std::optional<Bytes>> Reassembler::add(const Chunk& chunk) {
    const auto fail = [this](std::string reason) -> Result<std::optional<Bytes>> {
        in_progress_ = false;
        message_ = {};
        return Error{"channel_pdu_header", std::move(reason)};
    };
    if (chunk.flags & flag::first) {
        if (in_progress_) return fail("a FIRST chunk came before the previous message's LAST");
        if (chunk.total_length > limit_)
            return fail("message of " + std::to_string(chunk.total_length) + " bytes exceeds the " +
                        std::to_string(limit_) + " inspected");
        in_progress_ = true;
        declared_ = chunk.total_length;
        message_.clear();
        message_.reserve(declared_);
    } else if (!in_progress_) {
        return fail("a chunk without FIRST came outside a message");
    }
    largest_chunk_ = std::max(largest_chunk_, chunk.data.size());
    if (message_.size() + chunk.data.size() > declared_)
        return fail("chunks exceed the declared length " + std::to_string(declared_));
    message_.insert(message_.end(), chunk.data.begin(), chunk.data.end());
    if (!(chunk.flags & flag::last)) return std::optional<Bytes>{};
    in_progress_ = false;
    if (message_.size() != declared_)
        return fail("message of " + std::to_string(message_.size()) + " bytes, declared " +
                    std::to_string(declared_));
    return std::optional<Bytes>(std::exchange(message_, {}));
}

std::vector<Bytes> chunk(ByteView message, uint32_t flags, std::size_t chunk_size) {
    chunk_size = std::max<std::size_t>(chunk_size, 1);
    const uint32_t kept = flags & ~(flag::first | flag::last);
    std::vector<Bytes> chunks;
    std::size_t offset = 0;
    do {
        const std::size_t n = std::min(chunk_size, message.size() - offset);
        uint32_t f = kept;
        if (offset == 0) f |= flag::first;
        if (offset + n == message.size()) f |= flag::last;
        Bytes user_data;
        user_data.reserve(kHeaderSize + n);
        Writer w(user_data);
        w.u32le(uint32_t(message.size()));
        w.u32le(f);
        w.bytes(message.subspan(offset, n));
        chunks.push_back(std::move(user_data));
        offset += n;
    } while (offset < message.size());
    return chunks;
}

}  // namespace rdpbridge::rdp::vc

// fuzz-requires: virtual_channel.cpp
// Static virtual channel chunks (vc::decode_chunk), their reassembly into messages within a
// bound (vc::Reassembler) and the splitting of a message into chunks (vc::chunk): what the
// channel policy relies on to read an rdpdr message whole and send it on again.
//
// Input: u8 limit selector (see pick_limit), u8 chunk size for vc::chunk (0 means 1), u32
// flags for vc::chunk, then chunks, each a u8 length and that many bytes of Send Data user data
// (CHANNEL_PDU_HEADER, then data).
// Oracles:
//  - decode_chunk fails exactly on user data under 8 bytes, and reads the header as written;
//  - the Reassembler does what virtual_channel.hpp says, call for call, against a model kept
//    here: a completed message comes only with a LAST chunk, is the concatenation of the data
//    of the chunks since the FIRST, has the length the FIRST declared and never exceeds the
//    limit; a chunk out of sequence, a declared length over the limit, data beyond the declared
//    length or a LAST short of it is an Error that discards the partial message;
//  - vc::chunk(message, flags, n) gives ceil(size / n) chunks (one for an empty message) of at
//    most n data bytes, FIRST on the first, LAST on the last, `flags` on all, which a
//    Reassembler with a limit of exactly the message's size puts back into the message, and
//    one with a smaller limit refuses at the first chunk.
#include <algorithm>

#include "rdp/virtual_channel.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;

namespace {

std::size_t pick_limit(uint8_t selector) {
    switch (selector % 8) {
        case 0:
            return 0;
        case 1:
            return 1;
        case 2:
            return 8;
        case 3:
            return 64;
        case 4:
            return 255;
        case 5:
            return vc::kDefaultChunkSize;
        case 6:
            return 4096;
        default:
            return std::size_t(selector) * 3;
    }
}

// The Reassembler as virtual_channel.hpp describes it.
struct Model {
    std::size_t limit;
    bool in_progress = false;
    uint32_t declared = 0;
    Bytes message;

    enum class Outcome { error, more, done };
    Outcome add(const vc::Chunk& c) {
        const bool first = c.flags & vc::flag::first;
        const bool last = c.flags & vc::flag::last;
        if (first) {
            if (in_progress || c.total_length > limit) return fail();
            in_progress = true;
            declared = c.total_length;
            message.clear();
        } else if (!in_progress) {
            return fail();
        }
        if (message.size() + c.data.size() > declared) return fail();
        message.insert(message.end(), c.data.begin(), c.data.end());
        if (!last) return Outcome::more;
        in_progress = false;
        return message.size() == declared ? Outcome::done : fail();
    }
    Outcome fail() {
        in_progress = false;
        message.clear();
        return Outcome::error;
    }
};

void check_chunking(ByteView message, uint32_t flags, std::size_t n) {
    const auto parts = vc::chunk(message, flags, n);
    const std::size_t size = std::max<std::size_t>(n, 1);
    const std::size_t expected = message.empty() ? 1 : (message.size() + size - 1) / size;
    FUZZ_CHECK(parts.size() == expected, std::to_string(parts.size()) + " chunks of " +
                                             std::to_string(message.size()) + " bytes at " +
                                             std::to_string(size) + " per chunk");
    const uint32_t kept = flags & ~(vc::flag::first | vc::flag::last);
    vc::Reassembler exact(message.size());
    for (std::size_t i = 0; i < parts.size(); ++i) {
        auto c = vc::decode_chunk(parts[i]);
        FUZZ_CHECK(c.ok(), "a chunk vc::chunk made does not decode");
        FUZZ_CHECK(c->total_length == message.size(), "chunk header: total length");
        const uint32_t want =
            kept | (i == 0 ? vc::flag::first : 0) | (i + 1 == parts.size() ? vc::flag::last : 0);
        FUZZ_CHECK(c->flags == want, "chunk " + std::to_string(i) + " flags " + hex32(c->flags) +
                                         ", expected " + hex32(want));
        FUZZ_CHECK(
            c->data.size() <= size && (i + 1 == parts.size() || c->data.size() == size),
            "chunk " + std::to_string(i) + " carries " + std::to_string(c->data.size()) + " bytes");
        auto done = exact.add(*c);
        FUZZ_CHECK(done.ok(), "vc::chunk's chunks do not reassemble: " +
                                  (done ? std::string() : done.error().message()));
        if (i + 1 < parts.size()) {
            FUZZ_CHECK(!*done, "a message completed before its last chunk");
            continue;
        }
        FUZZ_CHECK(done->has_value() &&
                       std::equal(message.begin(), message.end(), (*done)->begin(), (*done)->end()),
                   "reassembled message differs from the one chunked: " + hex_prefix(message));
    }
    if (!message.empty()) {
        vc::Reassembler small(message.size() - 1);
        FUZZ_CHECK(!small.add(*vc::decode_chunk(parts.front())).ok(),
                   "a message over the limit was accepted");
    }
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_channel_reassembly) {
    rdpbridge::fuzz::Input in(input);
    const std::size_t limit = pick_limit(in.u8());
    const std::size_t chunk_size = in.u8();
    const uint32_t chunk_flags = in.u32();

    vc::Reassembler reassembler(limit);
    Model model{limit, false, 0, {}};
    std::size_t largest = 0;
    Bytes all_data;
    std::vector<Bytes> messages;
    while (in.remaining() > 0) {
        const ByteView user_data = in.take(in.u8());
        auto c = vc::decode_chunk(user_data);
        FUZZ_CHECK(c.ok() == (user_data.size() >= vc::kHeaderSize),
                   "decode_chunk of " + std::to_string(user_data.size()) + " bytes");
        if (!c) continue;
        FUZZ_CHECK(c->total_length == load_u32le(user_data.data()) &&
                       c->flags == load_u32le(user_data.data() + 4) &&
                       c->data.data() == user_data.data() + vc::kHeaderSize &&
                       c->data.size() == user_data.size() - vc::kHeaderSize,
                   "decode_chunk misread the header");
        all_data.insert(all_data.end(), c->data.begin(), c->data.end());

        const auto expected = model.add(*c);
        auto got = reassembler.add(*c);
        const std::string what = "chunk of " + std::to_string(c->data.size()) + " bytes, total " +
                                 std::to_string(c->total_length) + ", flags " + hex32(c->flags) +
                                 ", limit " + std::to_string(limit);
        switch (expected) {
            case Model::Outcome::error:
                FUZZ_CHECK(!got.ok(), "accepted: " + what);
                break;
            case Model::Outcome::more:
                FUZZ_CHECK(got.ok() && !got->has_value(),
                           (got ? "completed a message early: " : "refused: ") + what);
                largest = std::max(largest, c->data.size());
                break;
            case Model::Outcome::done:
                FUZZ_CHECK(got.ok() && got->has_value(), "did not complete a message: " + what);
                FUZZ_CHECK(**got == model.message,
                           "completed message is not the chunks' data: " + hex_prefix(**got) +
                               " vs " + hex_prefix(model.message));
                FUZZ_CHECK((*got)->size() <= limit, "a message over the limit");
                largest = std::max(largest, c->data.size());
                messages.push_back(std::move(**got));
                break;
        }
        FUZZ_CHECK(reassembler.in_progress() == model.in_progress, "in_progress() after " + what);
        FUZZ_CHECK(reassembler.largest_chunk() >= largest, "largest_chunk()");
    }

    for (const auto& m : messages) {
        check_chunking(m, chunk_flags, chunk_size);
        check_chunking(m, chunk_flags, vc::kDefaultChunkSize);
    }
    // Any bytes, chunked at the input's size; a bounded prefix keeps single-byte chunking cheap.
    const ByteView some = ByteView(all_data).first(std::min<std::size_t>(all_data.size(), 4096));
    check_chunking(some, chunk_flags, chunk_size);
    check_chunking(some, chunk_flags, some.size());
}

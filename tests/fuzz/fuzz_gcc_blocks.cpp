// GCC Conference Create Request/Response user data (gcc::decode in both directions,
// gcc::encode) and the block accessors: channel_names, server_selected_protocol,
// client_requested_protocols and their setters.
//
// Input: the MCS userData octet string's contents (T.124 key onwards), given to gcc::decode
// in both directions; also taken whole as a CS_NET / CS_CORE / SC_CORE body.
// Oracles: round trip through encode; the block list covers the user data exactly;
// channel_names agrees with the block's size; the u32 accessors read what the setters wrote.
#include <algorithm>

#include "rdp/gcc.hpp"
#include "tests/fuzz/gcc_compare.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::describe;
using rdpbridge::fuzz::same;

namespace {

void check_channel_names(const gcc::DataBlock& block) {
    auto names = gcc::channel_names(block);
    if (!names) return;
    FUZZ_CHECK(block.body.size() >= 4, "channel_names accepted a block without a count");
    const uint32_t count = load_u32le(block.body.data());
    FUZZ_CHECK(names->size() == count, "channel_names returned " + std::to_string(names->size()) +
                                           " names for a count of " + std::to_string(count));
    FUZZ_CHECK(4 + std::size_t(count) * 12 <= block.body.size(), "channels past the block");
    for (const auto& n : *names)
        FUZZ_CHECK(n.size() <= 8 && n.find('\0') == std::string::npos, "channel name " + n);
}

void check_u32_accessors(gcc::DataBlock block) {
    const std::size_t size = block.body.size();
    const bool has_ssp = size >= gcc::kCsCoreServerSelectedProtocol + 4;
    const bool has_crp = size >= gcc::kScCoreClientRequestedProtocols + 4;
    FUZZ_CHECK(gcc::server_selected_protocol(block).has_value() == has_ssp, "ssp presence");
    FUZZ_CHECK(gcc::client_requested_protocols(block).has_value() == has_crp, "crp presence");
    FUZZ_CHECK(gcc::set_server_selected_protocol(block, 0x11223344) == has_ssp, "ssp set");
    FUZZ_CHECK(gcc::set_client_requested_protocols(block, 0x55667788) == has_crp, "crp set");
    FUZZ_CHECK(block.body.size() == size, "a setter resized the block");
    if (has_crp) FUZZ_CHECK(*gcc::client_requested_protocols(block) == 0x55667788, "crp read");
    if (has_ssp) FUZZ_CHECK(*gcc::server_selected_protocol(block) == 0x11223344, "ssp read");
}

void check_direction(ByteView user_data, gcc::Direction direction) {
    auto cc = gcc::decode(user_data, direction);
    if (!cc) return;
    FUZZ_CHECK(cc->direction == direction, "direction");
    std::size_t block_bytes = 0;
    for (const auto& b : cc->blocks) block_bytes += 4 + b.body.size();
    FUZZ_CHECK(block_bytes <= user_data.size(), "blocks larger than their input");

    const Bytes encoded = gcc::encode(*cc);
    auto again = gcc::decode(encoded, direction);
    FUZZ_CHECK(again.ok(), "gcc::decode(encode(x)) failed: " + again.error().message() + "; was " +
                               describe(*cc));
    FUZZ_CHECK(same(*cc, *again),
               "decode(encode(x)) != x: " + describe(*cc) + " vs " + describe(*again));
    FUZZ_CHECK(gcc::encode(*again) == encoded, "encoding not stable");
    // Decoding keeps every choice the sender made, so an unchanged PDU comes out as it went in.
    FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), user_data.begin(), user_data.end()),
               "encode(decode(x)) != x byte for byte: " + describe(*cc) + "; in " +
                   rdpbridge::fuzz::hex_prefix(user_data) + " out " +
                   rdpbridge::fuzz::hex_prefix(encoded));

    for (const auto& b : cc->blocks) {
        check_channel_names(b);
        check_u32_accessors(b);
    }
    // find() returns the first block of a type.
    for (uint16_t type : {gcc::block::cs_core, gcc::block::cs_net, gcc::block::sc_core}) {
        const auto* found = static_cast<const gcc::ConferenceCreate&>(*cc).find(type);
        auto first = std::find_if(cc->blocks.begin(), cc->blocks.end(),
                                  [&](const auto& b) { return b.type == type; });
        FUZZ_CHECK(found == (first == cc->blocks.end() ? nullptr : &*first), "find");
    }
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_gcc_blocks) {
    check_direction(input, gcc::Direction::request);
    check_direction(input, gcc::Direction::response);
    const gcc::DataBlock raw{gcc::block::cs_net, Bytes(input.begin(), input.end())};
    check_channel_names(raw);
    check_u32_accessors(raw);
}

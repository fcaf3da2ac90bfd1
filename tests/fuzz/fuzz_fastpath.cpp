// fuzz-requires: fastpath.cpp
// Fast-path PDUs (fastpath::decode with and without FIPS information, fastpath::encode).
//
// Input: one fast-path frame, decoded both ways. Its first bytes also parameterise an encoder
// check: u8 header, u8 options, u16 data size (data is the input repeated up to that size).
// Oracles: decoded parts lie inside the frame; encode(decode(x)) decodes to the same header,
// security fields and data; whatever encode accepts decodes back, and it refuses only what
// exceeds the fast-path maximum.
#include <algorithm>

#include "rdp/fastpath.hpp"
#include "rdp/tpkt.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;

namespace {

void round_trip(const fastpath::Pdu& pdu, ByteView data, bool fips, const char* what) {
    auto encoded = fastpath::encode(pdu, data);
    const std::size_t minimum = 2 + (pdu.fips_padding ? 4 : 0) + (pdu.mac ? 8 : 0) + data.size();
    if (!encoded) {
        FUZZ_CHECK(minimum + 1 > fastpath::kMaxLength || minimum > fastpath::kMaxLength,
                   std::string(what) + ": encode refused " + std::to_string(minimum) +
                       " bytes: " + encoded.error().message());
        return;
    }
    auto peek = peek_frame(*encoded);
    FUZZ_CHECK(
        peek.ok() && peek->has_value() && (*peek)->kind == FrameKind::fastpath &&
            (*peek)->length == encoded->size(),
        std::string(what) + ": encoded length field does not match: " + hex_prefix(*encoded));
    auto again = fastpath::decode(*encoded, fips);
    FUZZ_CHECK(again.ok(),
               std::string(what) + ": encoded PDU does not decode: " + again.error().message());
    FUZZ_CHECK(again->header == pdu.header, std::string(what) + ": header changed");
    FUZZ_CHECK(again->mac == pdu.mac, std::string(what) + ": signature changed");
    FUZZ_CHECK(again->fips_padding == pdu.fips_padding,
               std::string(what) + ": FIPS padding changed");
    FUZZ_CHECK(std::equal(again->data.begin(), again->data.end(), data.begin(), data.end()),
               std::string(what) + ": data changed");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_fastpath) {
    for (bool fips : {false, true}) {
        auto pdu = fastpath::decode(input, fips);
        if (!pdu) continue;
        FUZZ_CHECK((pdu->header & 0x03) == 0, "decoded a PDU whose action is not fast-path");
        FUZZ_CHECK(pdu->data.data() + pdu->data.size() == input.data() + input.size(),
                   "data is not the frame's tail");
        FUZZ_CHECK(pdu->mac.has_value() == bool(pdu->flags() & 0x2), "signature presence");
        FUZZ_CHECK(!pdu->fips_padding || (fips && pdu->mac), "FIPS information presence");
        auto peek = peek_frame(input);
        FUZZ_CHECK(peek.ok() && peek->has_value() && (*peek)->length == input.size(),
                   "decode accepted a frame that peek_frame does not size the same");
        round_trip(*pdu, pdu->data, fips, "decoded");
    }

    rdpbridge::fuzz::Input in(input);
    fastpath::Pdu pdu;
    pdu.header = uint8_t(in.u8() & ~0x03);
    const uint8_t options = in.u8();
    const bool fips = options & 1;
    if (pdu.flags() & 0x2) {
        pdu.mac = std::array<uint8_t, 8>{1, 2, 3, 4, 5, 6, 7, 8};
        if (fips) pdu.fips_padding = uint8_t(options >> 5);
    }
    const std::size_t size = in.u16() % 0x8100;
    const ByteView pattern = in.rest();
    Bytes data(size, 0x5A);
    for (std::size_t i = 0; !pattern.empty() && i < size; ++i)
        data[i] = pattern[i % pattern.size()];
    round_trip(pdu, data, fips, "synthetic");
}

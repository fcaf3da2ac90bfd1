// MCS Connect Initial / Connect Response (mcs::decode_connect_initial/_response, mcs::encode),
// with the GCC blocks inside.
//
// Input: an X.224 Data payload (what unwrap_x224_data returns), given to both decoders.
// Oracles (round trip): encode(decode(x)) is a TPKT frame whose payload decodes to the same
// structure, and encoding that again is byte-stable; encode fails only when the PDU cannot
// fit a TPKT frame; the bridge's rewrite (serverSelectedProtocol / clientRequestedProtocols)
// survives encode/decode and changes nothing else; a PDU grown by a block (as the bridge grows
// CS_SECURITY) either fails to encode or decodes back to what was encoded.
#include <algorithm>

#include "rdp/mcs.hpp"
#include "rdp/tpkt.hpp"
#include "tests/fuzz/gcc_compare.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::describe;
using rdpbridge::fuzz::hex_prefix;
using rdpbridge::fuzz::same;

namespace {

constexpr std::size_t kMaxTpkt = 0xFFFF;

// encode(pdu) and decode its payload again with `decode`.
template <class Decode>
Result<mcs::ConnectPdu> re_decode(const mcs::ConnectPdu& pdu, Decode decode, Bytes& frame) {
    auto encoded = mcs::encode(pdu);
    if (!encoded) return encoded.error();
    frame = std::move(*encoded);
    auto peek = peek_frame(frame);
    FUZZ_CHECK(peek.ok() && peek->has_value() && (*peek)->kind == FrameKind::tpkt &&
                   (*peek)->length == frame.size(),
               "mcs::encode produced a frame whose TPKT header does not match its size: " +
                   hex_prefix(frame));
    auto payload = unwrap_x224_data(frame);
    FUZZ_CHECK(payload.ok(), "mcs::encode frame not X.224 Data: " + payload.error().message());
    auto again = decode(*payload);
    FUZZ_CHECK(again.ok(),
               "encode(decode(x)) rejected: " + again.error().message() + "; was " + describe(pdu));
    return again;
}

template <class Decode>
void check(ByteView payload, Decode decode, uint16_t core_type, bool initial) {
    auto pdu = decode(payload);
    if (!pdu) return;
    FUZZ_CHECK(mcs::looks_like_connect_initial(payload) == initial, "looks_like_connect_initial");

    Bytes frame;
    auto again = re_decode(*pdu, decode, frame);
    if (!again) {
        FUZZ_CHECK(payload.size() + kTpktHeaderSize + kX224DataHeaderSize > kMaxTpkt,
                   "encode refused a PDU that fitted: " + again.error().message());
        return;
    }
    FUZZ_CHECK(same(*pdu, *again),
               "decode(encode(x)) != x: " + describe(*pdu) + " vs " + describe(*again));
    // mcs.hpp: "re-encoding an unchanged PDU reproduces it exactly".
    const ByteView reencoded = ByteView(frame).subspan(kTpktHeaderSize + kX224DataHeaderSize);
    FUZZ_CHECK(std::equal(reencoded.begin(), reencoded.end(), payload.begin(), payload.end()),
               "encode(decode(x)) != x byte for byte: " + describe(*pdu) + "; in " +
                   hex_prefix(payload) + " out " + hex_prefix(reencoded));
    Bytes frame2;
    auto third = re_decode(*again, decode, frame2);
    FUZZ_CHECK(third.ok() && frame2 == frame, "encoding not stable");

    // The bridge's growth of the PDU: towards a Standard RDP Security host it adds (or
    // replaces) the 8-byte CS_SECURITY block. Whatever encode accepts must decode back.
    if (initial) {
        mcs::ConnectPdu grown = *pdu;
        grown.conference.blocks.push_back({gcc::block::cs_security, Bytes(8, 0x1B)});
        Bytes grown_frame;
        auto regrown = re_decode(grown, decode, grown_frame);
        if (regrown)
            FUZZ_CHECK(same(grown, *regrown), "grown PDU does not round-trip: " + describe(grown) +
                                                  " vs " + describe(*regrown));
    }

    // The bridge's rewrite of the core block.
    mcs::ConnectPdu edited = *pdu;
    auto* core = edited.conference.find(core_type);
    if (!core) return;
    constexpr uint32_t kValue = 0xA5C3E1F0;
    const bool set = initial ? gcc::set_server_selected_protocol(*core, kValue)
                             : gcc::set_client_requested_protocols(*core, kValue);
    const auto read =
        initial ? gcc::server_selected_protocol(*core) : gcc::client_requested_protocols(*core);
    FUZZ_CHECK(set == read.has_value() && (!set || *read == kValue), "core field set/read");
    if (!set) return;
    Bytes edited_frame;
    auto rewritten = re_decode(edited, decode, edited_frame);
    FUZZ_CHECK(rewritten.ok(), "rewritten PDU no longer encodes");
    FUZZ_CHECK(same(edited, *rewritten), "rewritten PDU does not round-trip");
    FUZZ_CHECK(edited_frame.size() == frame.size(), "rewriting 4 bytes changed the PDU size");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_mcs_connect) {
    check(input, mcs::decode_connect_initial, gcc::block::cs_core, true);
    check(input, mcs::decode_connect_response, gcc::block::sc_core, false);
}

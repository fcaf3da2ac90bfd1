// TPKT / fast-path framing: peek_frame, Framer (fed in arbitrary chunks), tpkt_body,
// unwrap_x224_data and wrap_x224_data.
//
// Input: u8 max_pdu selector, u32 chunking seed, then the byte stream.
// Oracles: chunked framing yields exactly the PDUs (and the error) of framing the whole stream
// at once; PDUs are the stream's bytes in order; each PDU's own header announces its size;
// no PDU exceeds max_pdu; a framed TPKT always has a valid tpkt_body; unwrap(wrap(p)) == p.
#include <algorithm>
#include <optional>

#include "rdp/framer.hpp"
#include "rdp/tpkt.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;
using rdpbridge::fuzz::pick_max_pdu;

namespace {

struct Framing {
    std::vector<Bytes> pdus;
    std::optional<std::string> error;  // field of the error that stopped framing
    std::size_t left_over = 0;         // bytes buffered when the stream ended
};

// Pulls every complete PDU out of the framer; returns false once it reported an error.
bool drain(Framer& f, Framing& out) {
    for (;;) {
        auto next = f.next();
        if (!next) {
            out.error = next.error().field;
            return false;
        }
        if (!*next) return true;
        out.pdus.push_back(std::move(**next));
    }
}

void check_pdu(ByteView pdu, std::size_t max_pdu) {
    FUZZ_CHECK(pdu.size() <= max_pdu, std::to_string(pdu.size()) + " > " + std::to_string(max_pdu));
    auto header = peek_frame(pdu);
    FUZZ_CHECK(header.ok() && header->has_value(),
               "a framed PDU no longer peeks: " + hex_prefix(pdu));
    FUZZ_CHECK((*header)->length == pdu.size(), "peek says " + std::to_string((*header)->length) +
                                                    ", PDU has " + std::to_string(pdu.size()));
    if ((*header)->kind != FrameKind::tpkt) return;
    auto body = tpkt_body(pdu, "fuzz");
    FUZZ_CHECK(body.ok(), "framed TPKT rejected by tpkt_body: " + hex_prefix(pdu));
    FUZZ_CHECK(body->size() + kTpktHeaderSize == pdu.size(), "tpkt_body size");
    auto payload = unwrap_x224_data(pdu);
    if (!payload) return;
    FUZZ_CHECK(payload->size() + kTpktHeaderSize + kX224DataHeaderSize == pdu.size(),
               "unwrap_x224_data size");
    FUZZ_CHECK(payload->data() + payload->size() == pdu.data() + pdu.size(),
               "payload is not the PDU's tail");
    const Bytes rewrapped = wrap_x224_data(*payload);
    FUZZ_CHECK(rewrapped.size() == pdu.size(), "wrap_x224_data size");
    auto again = unwrap_x224_data(rewrapped);
    FUZZ_CHECK(again.ok(), "unwrap(wrap(p)) failed: " + again.error().message());
    FUZZ_CHECK(std::equal(again->begin(), again->end(), payload->begin(), payload->end()),
               "unwrap(wrap(p)) != p");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_tpkt_framer) {
    rdpbridge::fuzz::Input in(input);
    const std::size_t max_pdu = pick_max_pdu(in.u8());
    rdpbridge::fuzz::Chunker chunker(in.u32());
    const ByteView stream = in.rest();

    // Reference: the whole stream at once.
    Framing whole;
    {
        Framer f(max_pdu);
        f.feed(stream);
        if (drain(f, whole)) whole.left_over = f.buffered();
    }

    // Under test: arbitrary chunks, draining after each, stopping at the first error as the
    // Bridge and the proxy do.
    Framing chunked;
    std::size_t fed = 0;
    {
        Framer f(max_pdu);
        bool ok = true;
        while (ok && fed < stream.size()) {
            const std::size_t n = chunker.next(stream.size() - fed);
            f.feed(stream.subspan(fed, n));
            fed += n;
            ok = drain(f, chunked);
        }
        if (ok) {
            chunked.left_over = f.buffered();
            const Bytes rest = f.take_rest();
            FUZZ_CHECK(rest.size() == chunked.left_over && f.buffered() == 0, "take_rest");
        }
    }

    FUZZ_CHECK(chunked.pdus.size() == whole.pdus.size(),
               "chunked framing gave " + std::to_string(chunked.pdus.size()) +
                   " PDUs, whole gave " + std::to_string(whole.pdus.size()));
    FUZZ_CHECK(chunked.error == whole.error, "error differs: " + chunked.error.value_or("none") +
                                                 " vs " + whole.error.value_or("none"));
    std::size_t offset = 0;
    for (std::size_t i = 0; i < whole.pdus.size(); ++i) {
        const Bytes& pdu = whole.pdus[i];
        FUZZ_CHECK(chunked.pdus[i] == pdu, "PDU " + std::to_string(i) + " differs");
        FUZZ_CHECK(offset + pdu.size() <= stream.size() &&
                       std::equal(pdu.begin(), pdu.end(), stream.begin() + std::ptrdiff_t(offset)),
                   "PDU " + std::to_string(i) + " is not the next stream bytes");
        offset += pdu.size();
        check_pdu(pdu, max_pdu);
    }
    if (!whole.error) {
        FUZZ_CHECK(offset + whole.left_over == stream.size(), "bytes lost or invented");
        FUZZ_CHECK(chunked.left_over == whole.left_over, "left-over differs");
        // What is left is an incomplete PDU: peeking it must not claim a complete one.
        auto tail = peek_frame(stream.subspan(offset));
        FUZZ_CHECK(tail.ok(), "left-over peeks as error but framing did not fail");
        if (*tail) FUZZ_CHECK((*tail)->length > whole.left_over, "a complete PDU was left behind");
    } else {
        // Framing stopped at a header that is bad or too large.
        auto tail = peek_frame(stream.subspan(offset));
        FUZZ_CHECK(!tail.ok() || (tail->has_value() && (*tail)->length > max_pdu),
                   "framing failed on a header peek_frame accepts");
    }
}

// fuzz-requires: pdu_watch.cpp mcs_domain.cpp error_info.cpp
// PduWatch: the host -> client stream watcher (Set Error Info PDU, Disconnect Provider
// Ultimatum), which walks PDUs keeping only their first 64 bytes.
//
// Input: u8 max_pdu selector, u32 chunking seed, then the byte stream.
// Oracles: fed in arbitrary chunks and byte by byte, the watcher reports exactly the events, PDU
// count and error of the whole stream fed at once; that walk agrees with Framer (same PDUs, same
// framing error); its events are exactly those found by decoding every framed PDU in full with
// the codecs (unwrap_x224_data, mcs::domain_pdu_type, mcs::disconnect_reason,
// mcs::decode_send_data), and an error it finds inside a PDU is the error those codecs report;
// once failed it stays failed with the same Error and no new events; finish() reports a cut PDU
// exactly when bytes are left over; every errorInfo reported prints, with a description exactly
// when it has a name, and every ultimatum reason fits T.125's three bits.
#include <optional>
#include <string>
#include <vector>

#include "rdp/error_info.hpp"
#include "rdp/framer.hpp"
#include "rdp/mcs_domain.hpp"
#include "rdp/pdu_watch.hpp"
#include "rdp/tpkt.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;
using rdpbridge::fuzz::pick_max_pdu;

namespace {

using Kind = WatchEvent::Kind;

struct Walk {
    std::vector<WatchEvent> events;
    std::optional<std::string> error;  // field of the error that stopped the walk
    std::size_t pdus = 0;
    std::size_t left_over = 0;  // reference only: bytes buffered when the stream ended
};

std::string describe(const std::vector<WatchEvent>& events) {
    std::string s;
    for (const auto& e : events)
        s += (e.kind == Kind::set_error_info ? "sei:" : "dpum:") + std::to_string(e.code) + " ";
    return s;
}

// What one complete TPKT frame holds, by the codecs: an error field, or events appended.
std::optional<std::string> reference_pdu(ByteView frame, std::vector<WatchEvent>& events) {
    const uint8_t li = frame[4];
    const uint8_t code = frame[5];
    if (code != 0xF0) {
        const uint8_t tpdu = code & 0xF0;
        if (tpdu != 0xE0 && tpdu != 0xD0 && tpdu != 0x80 && tpdu != 0x70) return "x224.code";
        if (std::size_t(li) + 1 > frame.size() - kTpktHeaderSize) return "x224.length_indicator";
        return std::nullopt;
    }
    auto payload = unwrap_x224_data(frame);
    if (!payload) return payload.error().field;
    auto type = mcs::domain_pdu_type(*payload);
    if (!type) return type.error().field;
    if (*type == mcs::DomainPdu::disconnect_provider_ultimatum) {
        auto reason = mcs::disconnect_reason(*payload);
        if (!reason) return reason.error().field;
        events.push_back(WatchEvent{Kind::disconnect_ultimatum, *reason});
        return std::nullopt;
    }
    if (*type != mcs::DomainPdu::send_data_indication && *type != mcs::DomainPdu::send_data_request)
        return std::nullopt;
    auto sd = mcs::decode_send_data(*payload);
    if (!sd) return sd.error().field;

    // Share Control Header, Share Data Header ([MS-RDPBCGR] 2.2.8.1.1.1.1-2), errorInfo.
    Reader r(sd->user_data);
    auto total_length = r.u16le("totalLength");
    auto pdu_type = r.u16le("pduType");
    if (!total_length || !pdu_type || !r.skip(2 + 4 + 1 + 1 + 2, "pduSource..uncompressedLength"))
        return std::nullopt;
    auto pdu_type2 = r.u8("pduType2");
    auto compressed_type = r.u8("compressedType");
    if (!pdu_type2 || !compressed_type || !r.skip(2, "compressedLength")) return std::nullopt;
    if ((*pdu_type & 0x0F) != 7 || *total_length != sd->user_data.size() ||
        *pdu_type2 != kPduType2SetErrorInfo || (*compressed_type & 0x20))
        return std::nullopt;
    auto error_info = r.u32le("set_error_info.error_info");
    if (!error_info) return error_info.error().field;
    events.push_back(WatchEvent{Kind::set_error_info, *error_info});
    return std::nullopt;
}

Walk reference(ByteView stream, std::size_t max_pdu) {
    Walk out;
    Framer f(max_pdu);
    f.feed(stream);
    for (;;) {
        auto next = f.next();
        if (!next) {
            out.error = next.error().field;
            return out;
        }
        if (!*next) break;
        ++out.pdus;
        const Bytes& frame = **next;
        if (frame[0] != kTpktVersion) continue;  // fast-path: nothing to see
        if (auto e = reference_pdu(frame, out.events)) {
            out.error = e;
            return out;
        }
    }
    out.left_over = f.buffered();
    return out;
}

enum class Feeding { whole, chunked, bytewise };

Walk watch(ByteView stream, std::size_t max_pdu, Feeding feeding, uint32_t seed) {
    Walk out;
    PduWatch w(max_pdu);
    rdpbridge::fuzz::Chunker chunker(seed);
    std::optional<Error> error;
    std::size_t fed = 0;
    while (!error && fed < stream.size()) {
        std::size_t n = stream.size() - fed;
        if (feeding == Feeding::chunked) n = chunker.next(n);
        if (feeding == Feeding::bytewise) n = 1;
        error = w.feed(stream.subspan(fed, n));
        fed += n;
        auto events = w.take_events();
        out.events.insert(out.events.end(), events.begin(), events.end());
        FUZZ_CHECK(error.has_value() == w.failed(), "failed() disagrees with feed()");
    }
    out.pdus = w.pdu_count();
    const auto end = w.finish();
    if (error) {
        out.error = error->field;
        FUZZ_CHECK(!error->reason.empty(), "an error without a reason: " + error->field);
        FUZZ_CHECK(w.offset() <= stream.size(), "consumed more than was fed");
        // Failed for good: same error, nothing new, whatever comes next.
        const uint8_t more[] = {0x03, 0x00, 0x00, 0x07, 0x02, 0xF0, 0x80};
        auto again = w.feed(ByteView(more, sizeof more));
        FUZZ_CHECK(again && again->field == error->field && again->reason == error->reason,
                   "a failed watcher changed its error");
        FUZZ_CHECK(w.take_events().empty(), "a failed watcher reported an event");
        FUZZ_CHECK(end && end->field == error->field, "finish() forgot the error");
    } else {
        FUZZ_CHECK(w.offset() == stream.size(), "offset " + std::to_string(w.offset()) + " after " +
                                                    std::to_string(stream.size()));
        out.left_over = end ? 1 : 0;  // compared as "cut or not" below
    }
    return out;
}

void same_walk(const Walk& got, const Walk& want, const char* how, ByteView stream) {
    FUZZ_CHECK(got.error == want.error, std::string(how) + ": error " + got.error.value_or("none") +
                                            " vs " + want.error.value_or("none") + " on " +
                                            hex_prefix(stream));
    FUZZ_CHECK(got.pdus == want.pdus, std::string(how) + ": " + std::to_string(got.pdus) +
                                          " PDUs vs " + std::to_string(want.pdus));
    FUZZ_CHECK(got.events == want.events, std::string(how) + ": events " + describe(got.events) +
                                              "vs " + describe(want.events));
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_pdu_watch) {
    rdpbridge::fuzz::Input in(input);
    const std::size_t max_pdu = pick_max_pdu(in.u8());
    const uint32_t seed = in.u32();
    const ByteView stream = in.rest();

    const Walk expected = reference(stream, max_pdu);
    const Walk whole = watch(stream, max_pdu, Feeding::whole, seed);
    same_walk(whole, expected, "whole vs codecs", stream);
    if (!expected.error) {
        FUZZ_CHECK((whole.left_over != 0) == (expected.left_over != 0),
                   "finish() says " + std::string(whole.left_over ? "cut" : "boundary") + " with " +
                       std::to_string(expected.left_over) + " byte(s) left over");
    }
    const Walk chunked = watch(stream, max_pdu, Feeding::chunked, seed);
    same_walk(chunked, whole, "chunked vs whole", stream);
    const Walk bytewise = watch(stream, max_pdu, Feeding::bytewise, seed);
    same_walk(bytewise, whole, "byte by byte vs whole", stream);

    for (const auto& e : whole.events) {
        if (e.kind == Kind::disconnect_ultimatum) {
            FUZZ_CHECK(e.code <= 7, "a T.125 reason above 7: " + std::to_string(e.code));
            continue;
        }
        FUZZ_CHECK(
            error_info_name(e.code).has_value() == error_info_description(e.code).has_value(),
            "errorInfo with a name but no description, or the reverse");
        const std::string text = error_info_to_string(e.code);
        FUZZ_CHECK(text.find(error_info_name(e.code) ? "ERRINFO_" : "unknown ERRINFO 0x") == 0,
                   "errorInfo prints as " + text);
    }
}

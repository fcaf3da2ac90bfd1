// The BER and PER primitives under MCS/GCC: ber::read, ber::write_header, per::read_length,
// per::write_length.
//
// Input: u8 mode, then bytes. Mode picks the expected tag of the outermost TLV (the MCS tags,
// or a tag read from the input); the contents are walked as nested TLVs, each tag taken from
// its own first byte(s), and the same bytes are also read as a run of PER lengths.
// Oracles: a TLV that reads re-encodes byte for byte (identifier, length form, value) and reads
// back the same; a PER length re-encodes to a length that reads back the same, in as few
// octets; write_header + read round-trips any length up to 0xFFFF and width.
#include <algorithm>
#include <array>
#include <optional>

#include "rdp/ber.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::fuzz::hex_prefix;

namespace {

constexpr std::array<uint16_t, 8> kTags{0x7F65, 0x7F66, 0x04, 0x01, 0x02, 0x0A, 0x30, 0x7F67};

// The identifier a TLV starting at `r` would have, or nullopt when it cannot be read.
std::optional<uint16_t> peek_tag(ByteView bytes) {
    if (bytes.empty()) return std::nullopt;
    uint16_t tag = bytes[0];
    if ((tag & 0x1F) == 0x1F) {
        if (bytes.size() < 2) return std::nullopt;
        tag = uint16_t(tag << 8 | bytes[1]);
    }
    return tag;
}

// Identifiers the encoder can express: one octet that is not the escape 0x1F, or the escape
// followed by one octet without the continuation bit.
bool valid_tag(uint16_t tag) {
    if (tag <= 0xFF) return (tag & 0x1F) != 0x1F;
    return ((tag >> 8) & 0x1F) == 0x1F && (tag & 0x80) == 0;
}

void check_tlv(const ber::Tlv& tlv, ByteView original) {
    FUZZ_CHECK(tlv.length_width >= 1 && tlv.length_width <= 3, "length width");
    Bytes out;
    Writer w(out);
    ber::write_header(w, tlv.tag, tlv.value.size(), tlv.length_width);
    w.bytes(tlv.value);
    FUZZ_CHECK(
        out.size() == original.size() && std::equal(out.begin(), out.end(), original.begin()),
        "TLV not reproduced: " + hex_prefix(original, 16) + " -> " + hex_prefix(out, 16));
    Reader r(out);
    auto again = ber::read(r, tlv.tag, "fuzz");
    FUZZ_CHECK(again.ok() && r.empty() && again->tag == tlv.tag &&
                   again->length_width == tlv.length_width &&
                   std::equal(again->value.begin(), again->value.end(), tlv.value.begin(),
                              tlv.value.end()),
               "TLV does not read back");
}

// Walks `bytes` as a run of TLVs, descending into each value (MCS nests SEQUENCEs).
void walk(ByteView bytes, int depth) {
    if (depth > 8) return;
    Reader r(bytes);
    while (!r.empty()) {
        auto tag = peek_tag(r.rest());
        if (!tag) return;
        const std::size_t start = r.position();
        auto tlv = ber::read(r, *tag, "fuzz.walk");
        if (!tlv) {
            FUZZ_CHECK(r.position() >= start, "reader moved backwards");
            return;
        }
        FUZZ_CHECK(tlv->tag == *tag, "tag");
        FUZZ_CHECK(tlv->value.data() >= bytes.data() &&
                       tlv->value.data() + tlv->value.size() <= bytes.data() + bytes.size(),
                   "value outside its input");
        check_tlv(*tlv, bytes.subspan(start, r.position() - start));
        walk(tlv->value, depth + 1);
    }
}

void per_lengths(ByteView bytes) {
    Reader r(bytes);
    while (!r.empty()) {
        const std::size_t start = r.position();
        bool long_form = false;
        auto length = per::read_length(r, "fuzz.per", &long_form);
        if (!length) return;
        const std::size_t used = r.position() - start;
        FUZZ_CHECK(*length <= 0x7FFF, "PER length above 15 bits");
        FUZZ_CHECK(used == (long_form ? 2u : 1u), "long_form does not match the octets read");
        // Re-encoded in the form it was read in, it is the same octets.
        Bytes out;
        Writer w(out);
        per::write_length(w, *length, long_form);
        FUZZ_CHECK(out.size() == used &&
                       std::equal(out.begin(), out.end(), bytes.begin() + std::ptrdiff_t(start)),
                   "PER length not reproduced");
        // In the shortest form it reads back the same.
        Bytes shortest;
        Writer sw(shortest);
        per::write_length(sw, *length);
        FUZZ_CHECK(shortest.size() <= used, "PER length grew on re-encoding");
        Reader back(shortest);
        auto again = per::read_length(back, "fuzz.per");
        FUZZ_CHECK(again.ok() && back.empty() && *again == *length, "PER length round trip");
    }
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_ber_per) {
    rdpbridge::fuzz::Input in(input);
    const uint8_t mode = in.u8();
    uint16_t expected = kTags[mode % kTags.size()];
    if (mode >= 0xF0) expected = in.u16();
    const ByteView data = in.rest();

    Reader r(data);
    auto tlv = ber::read(r, expected, "fuzz.outer");
    if (tlv) {
        FUZZ_CHECK(tlv->tag == expected, "tag");
        check_tlv(*tlv, data.first(r.position()));
        walk(tlv->value, 0);
    }
    walk(data, 0);
    per_lengths(data);

    // Encoder side: every length and width the encoders can be asked for reads back.
    rdpbridge::fuzz::Input lengths(data);
    for (int i = 0; i < 4 && valid_tag(expected) && lengths.remaining() >= 3; ++i) {
        const std::size_t length = lengths.u16();
        const uint8_t min_width = uint8_t(1 + lengths.u8() % 3);
        Bytes out;
        Writer w(out);
        ber::write_header(w, expected, length, min_width);
        out.resize(out.size() + length);
        Reader back(out);
        auto again = ber::read(back, expected, "fuzz.write");
        FUZZ_CHECK(again.ok() && back.empty() && again->value.size() == length &&
                       again->length_width >= min_width,
                   "write_header(" + std::to_string(length) + ", " + std::to_string(min_width) +
                       ") does not read back");
        if (length <= 0x7FFF) {
            for (bool long_form : {false, true}) {
                Bytes p;
                Writer pw(p);
                per::write_length(pw, length, long_form);
                Reader pr(p);
                bool read_long = false;
                auto l = per::read_length(pr, "fuzz.write", &read_long);
                FUZZ_CHECK(l.ok() && pr.empty() && *l == length &&
                               read_long == (long_form || length >= 0x80),
                           "per::write_length(" + std::to_string(length) + ") round trip");
            }
        }
    }
}

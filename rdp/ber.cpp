#include "rdp/ber.hpp"

namespace rdpbridge::rdp::ber {

namespace {

std::string tag_name(uint16_t tag) {
    const uint8_t b[2] = {uint8_t(tag >> 8), uint8_t(tag)};
    return "0x" + (tag > 0xFF ? hex(ByteView(b, 2)) : hex(ByteView(b + 1, 1)));
}

}  // namespace

Result<Tlv> read(Reader& r, uint16_t expected_tag, const char* field) {
    auto first = r.u8(field);
    if (!first) return first.error();
    uint16_t tag = *first;
    if ((tag & 0x1F) == 0x1F) {
        auto second = r.u8(field);
        if (!second) return second.error();
        if (*second & 0x80) return Error{field, "identifiers longer than two octets are not MCS"};
        tag = uint16_t(tag << 8 | *second);
    }
    if (tag != expected_tag)
        return Error{field, "expected BER tag " + tag_name(expected_tag) + ", got " + tag_name(tag)};
    auto len0 = r.u8(field);
    if (!len0) return len0.error();
    std::size_t length = *len0;
    uint8_t width = 1;
    if (length & 0x80) {
        const std::size_t n = length & 0x7F;
        if (n == 0 || n > 2)
            return Error{field, "BER length of " + std::to_string(n) + " octets is not supported"};
        length = 0;
        for (std::size_t i = 0; i < n; ++i) {
            auto b = r.u8(field);
            if (!b) return b.error();
            length = length << 8 | *b;
        }
        width = uint8_t(1 + n);
    }
    auto value = r.bytes(length, field);
    if (!value) return value.error();
    return Tlv{tag, *value, width};
}

void write_header(Writer& w, uint16_t tag, std::size_t length, uint8_t min_width) {
    if (tag > 0xFF) w.u8(uint8_t(tag >> 8));
    w.u8(uint8_t(tag));
    if (length < 0x80 && min_width <= 1) {
        w.u8(uint8_t(length));
    } else if (length <= 0xFF && min_width <= 2) {
        w.u8(0x81);
        w.u8(uint8_t(length));
    } else {
        w.u8(0x82);
        w.u16be(uint16_t(length));
    }
}

}  // namespace rdpbridge::rdp::ber

namespace rdpbridge::rdp::per {

Result<std::size_t> read_length(Reader& r, const char* field, bool* long_form) {
    auto b = r.u8(field);
    if (!b) return b.error();
    if (long_form) *long_form = (*b & 0x80) != 0;
    if (!(*b & 0x80)) return std::size_t(*b);
    auto b2 = r.u8(field);
    if (!b2) return b2.error();
    return std::size_t(*b & 0x7F) << 8 | *b2;
}

void write_length(Writer& w, std::size_t length, bool long_form) {
    if (length < 0x80 && !long_form) {
        w.u8(uint8_t(length));
    } else {
        w.u16be(uint16_t(0x8000 | length));
    }
}

}  // namespace rdpbridge::rdp::per

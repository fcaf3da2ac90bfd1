#include "rdp/ber.hpp"

namespace rdpbridge::rdp::ber {

namespace {

std::string tag_name(uint16_t tag) {
    const uint8_t b[2] = {uint8_t(tag >> 8), uint8_t(tag)};
    return "0x" + (tag > 0xFF ? hex(ByteView(b, 2)) : hex(ByteView(b + 1, 1)));
}

}  // namespace

Result<Header> read_header(Reader& r, uint16_t expected_tag, const char* field) {
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
        return Error{field,
                     "expected BER tag " + tag_name(expected_tag) + ", got " + tag_name(tag)};
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
    return Header{tag, length, width};
}

Result<Tlv> read(Reader& r, uint16_t expected_tag, const char* field) {
    auto header = read_header(r, expected_tag, field);
    if (!header) return header.error();
    auto value = r.bytes(header->length, field);
    if (!value) return value.error();
    return Tlv{header->tag, *value, header->length_width};
}

Result<int64_t> read_integer(Reader& r, const char* field) {
    auto tlv = read(r, kInteger, field);
    if (!tlv) return tlv.error();
    ByteView digits = tlv->value;
    if (digits.empty()) return Error{field, "INTEGER without content octets"};
    const bool negative = digits[0] & 0x80;
    // Redundant sign octets carry no value; what remains must fit in 64 bits.
    while (digits.size() > 1 && digits[0] == (negative ? 0xFF : 0x00) &&
           bool(digits[1] & 0x80) == negative)
        digits = digits.subspan(1);
    if (digits.size() > 8)
        return Error{field, "INTEGER of " + std::to_string(digits.size()) +
                                " octets does not fit in 64 bits"};
    uint64_t value = negative ? ~uint64_t{0} : 0;  // sign-extended
    for (uint8_t d : digits) value = value << 8 | d;
    return int64_t(value);
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

void DerWriter::begin(uint8_t tag) {
    out_.push_back(tag);
    open_.push_back(out_.size());
    out_.push_back(0);  // the length, filled in by end()
}

void DerWriter::end() {
    const std::size_t at = open_.back();
    open_.pop_back();
    const std::size_t length = out_.size() - at - 1;
    if (length < 0x80) {
        out_[at] = uint8_t(length);
        return;
    }
    uint8_t octets = 0;
    for (std::size_t rest = length; rest != 0; rest >>= 8) ++octets;
    out_[at] = uint8_t(0x80 | octets);
    out_.insert(out_.begin() + std::ptrdiff_t(at + 1), octets, 0);
    for (uint8_t i = 0; i < octets; ++i) out_[at + octets - i] = uint8_t(length >> (8 * i));
}

void DerWriter::integer(int64_t value) {
    // Fewest octets: drop leading octets that only repeat the sign of the next one.
    uint8_t octets = 8;
    while (octets > 1) {
        const int64_t top = value >> (8 * (octets - 1) - 1);  // the dropped octet and next bit
        if (top != 0 && top != -1) break;
        --octets;
    }
    begin(kInteger);
    for (uint8_t i = octets; i > 0; --i) out_.push_back(uint8_t(uint64_t(value) >> (8 * (i - 1))));
    end();
}

void DerWriter::octet_string(ByteView value) {
    begin(kOctetString);
    out_.insert(out_.end(), value.begin(), value.end());
    end();
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

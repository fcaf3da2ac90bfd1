// The sliver of BER (X.690) that T.125 MCS connect PDUs use: identifiers of one or two
// octets and definite lengths. Lengths remember their encoded width so that a PDU we decode and
// re-encode unchanged comes out byte for byte as it went in.
#pragma once

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::ber {

struct Tlv {
    uint16_t tag;          // one octet, or 0x7F nn as 0x7Fnn for application tags above 30
    ByteView value;
    uint8_t length_width;  // octets the length used: 1 (short form) or 2..3 (0x81, 0x82 forms)
};

// Reads one TLV whose identifier must be `expected_tag`.
Result<Tlv> read(Reader& r, uint16_t expected_tag, const char* field);

// Writes the identifier and a definite length no narrower than `min_width` octets.
void write_header(Writer& w, uint16_t tag, std::size_t length, uint8_t min_width = 1);

}  // namespace rdpbridge::rdp::ber

namespace rdpbridge::rdp::per {

// The largest length either form can carry: 15 bits, as RDP peers read the two-octet form.
inline constexpr std::size_t kMaxLength = 0x7FFF;

// PER length determinant: one octet below 0x80, else two with the top bit set. Some encoders
// (xrdp) use the two-octet form for small values too; `long_form` reports which was used so
// that re-encoding can reproduce it.
Result<std::size_t> read_length(Reader& r, const char* field, bool* long_form = nullptr);
void write_length(Writer& w, std::size_t length, bool long_form = false);

}  // namespace rdpbridge::rdp::per

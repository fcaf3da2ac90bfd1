// The sliver of BER (X.690) that T.125 MCS connect PDUs use: identifiers of one or two
// octets and definite lengths. Lengths remember their encoded width so that a PDU we decode and
// re-encode unchanged comes out byte for byte as it went in.
//
// CredSSP (credssp.hpp) speaks DER, BER's canonical subset: the same reader serves it, with
// INTEGERs and DerWriter added. The reader takes lengths of at most two octets (65,535 bytes),
// more than any MCS or CredSSP PDU we accept carries.
#pragma once

#include <vector>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::ber {

// Universal tags of the types CredSSP uses, and the context-specific constructed tag [n] that
// wraps each of its EXPLICIT fields.
inline constexpr uint8_t kInteger = 0x02;
inline constexpr uint8_t kOctetString = 0x04;
inline constexpr uint8_t kSequence = 0x30;
constexpr uint8_t context(uint8_t n) {
    return uint8_t(0xA0 | n);
}

struct Header {
    uint16_t tag;
    std::size_t length;    // of the value that follows
    uint8_t length_width;  // octets the length used: 1 (short form) or 2..3 (0x81, 0x82 forms)
};

struct Tlv {
    uint16_t tag;  // one octet, or 0x7F nn as 0x7Fnn for application tags above 30
    ByteView value;
    uint8_t length_width;  // as in Header
};

// Reads an identifier, which must be `expected_tag`, and a definite length; `r` is then at the
// value, which may still have to arrive (framing a stream needs just the header).
Result<Header> read_header(Reader& r, uint16_t expected_tag, const char* field);
// Reads one TLV whose identifier must be `expected_tag`.
Result<Tlv> read(Reader& r, uint16_t expected_tag, const char* field);

// Whether the next identifier is the one-octet `tag`: how OPTIONAL fields are recognised.
inline bool next_is(const Reader& r, uint8_t tag) {
    return !r.empty() && r.peek() == tag;
}

// An INTEGER's value: two's complement, big-endian, 1 to 8 octets. Redundant leading 0x00/0xFF
// octets, which DER forbids but some encoders write, are accepted.
Result<int64_t> read_integer(Reader& r, const char* field);

// Writes the identifier and a definite length no narrower than `min_width` octets.
void write_header(Writer& w, uint16_t tag, std::size_t length, uint8_t min_width = 1);

// Writes DER front to back: begin(tag) ... end() fills in the length, in its shortest form,
// once the content is written. Everything happens inside `out`, shifting the content when a
// length needs more than one octet, so a buffer reserved large enough up front is never
// reallocated: a password written through it leaves no stray copy on the heap.
class DerWriter {
  public:
    explicit DerWriter(Bytes& out) : out_(out) {}
    DerWriter(const DerWriter&) = delete;
    DerWriter& operator=(const DerWriter&) = delete;

    void begin(uint8_t tag);
    void end();
    // Primitive TLVs: INTEGER in the fewest octets, OCTET STRING as given.
    void integer(int64_t value);
    void octet_string(ByteView value);

  private:
    Bytes& out_;
    std::vector<std::size_t> open_;  // where the length octet of each unfinished TLV is
};

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

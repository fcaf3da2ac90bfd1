// UTF-16LE, how RDP and CredSSP carry text, to and from the UTF-8 the rest of rdpbridge uses.
// Strict both ways: an odd byte count, an unpaired surrogate or malformed UTF-8 is an Error
// naming the field, never replaced, so that every conversion that succeeds round-trips exactly.
#pragma once

#include <string>
#include <string_view>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp {

// For text that is no secret (user and domain names).
Result<std::string> utf16le_to_utf8(ByteView utf16le, const char* field);
Result<Bytes> utf8_to_utf16le(std::string_view utf8, const char* field);

// The same conversions appending to `out`. Each reserves room for the longest possible result
// before writing, so what it writes is never moved in memory: converting a password into a
// buffer the caller then wipes leaves no stray copy behind. On error `out` holds the part
// converted so far.
Status append_utf16le_as_utf8(ByteView utf16le, Bytes& out, const char* field);
Status append_utf8_as_utf16le(ByteView utf8, Bytes& out, const char* field);

}  // namespace rdpbridge::rdp

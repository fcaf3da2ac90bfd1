// fuzz-requires: licensing.cpp session_info.cpp
// What the bridge does with a host PDU's plaintext once the security header is off
// (licensing::message_name, then session_info::strip_autoreconnect_cookie), on the same bytes,
// as Bridge::host_send_data does.
//
// Input: the plaintext after the basic security header.
// Oracles: a licensing name only for a preamble whose size is the PDU's; stripping changes
// nothing unless it says so, then removes exactly the cookie field (shrinking the enclosing
// lengths by as much), clears its FieldsPresent bit, and finds nothing more to strip.
#include "rdp/licensing.hpp"
#include "rdp/session_info.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;

namespace {
uint16_t u16(const Bytes& b, std::size_t at) {
    return uint16_t(b[at] | b[at + 1] << 8);
}
}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_sec_payload) {
    const auto name = licensing::message_name(input);
    if (name) {
        FUZZ_CHECK(input.size() >= 4 &&
                       (std::size_t(input[2]) | std::size_t(input[3]) << 8) == input.size(),
                   "licensing name for a preamble whose size is not the PDU's");
        FUZZ_CHECK(!name->empty(), "empty licensing name");
    }

    Bytes pdu(input.begin(), input.end());
    const bool stripped = session_info::strip_autoreconnect_cookie(pdu);
    if (!stripped) {
        FUZZ_CHECK(pdu.size() == input.size() && std::equal(pdu.begin(), pdu.end(), input.begin()),
                   "strip_autoreconnect_cookie changed a PDU it did not strip");
        return;
    }
    // Layout (session_info.cpp): share control (6) + share data (12) headers, infoType (4),
    // Length (2), FieldsPresent (4), then the cookie field: cbFieldData (4) + data.
    constexpr std::size_t kFields = 6 + 12 + 4 + 2;
    constexpr std::size_t kCookie = kFields + 4;
    const std::size_t removed = 4 + std::size_t(load_u32le(&input[kCookie]));
    FUZZ_CHECK(pdu.size() + removed == input.size(), "removed more or less than the cookie field");
    FUZZ_CHECK(
        std::equal(pdu.begin() + long(kCookie), pdu.end(), input.begin() + long(kCookie + removed)),
        "bytes after the cookie changed");
    const Bytes before(input.begin(), input.end());
    FUZZ_CHECK(uint16_t(u16(before, 0) - removed) == u16(pdu, 0), "totalLength not shrunk");
    FUZZ_CHECK((load_u32le(&pdu[kFields]) & 1) == 0, "FieldsPresent still announces the cookie");
    Bytes again = pdu;
    FUZZ_CHECK(!session_info::strip_autoreconnect_cookie(again), "stripped twice");
}

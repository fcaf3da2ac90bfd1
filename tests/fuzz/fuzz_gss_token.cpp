// fuzz-requires: gss_token.cpp ntlmssp.cpp
// A client's first security token as the acceptor reads it (classify_first_token,
// decode_initial_context_token) and a host's CHALLENGE as the initiator fixes it up
// (prefer_unicode).
//
// Input: one token.
// Oracles: a classified GSS-API token decodes with the same OID, its inner token is the tail of
// the input, and re-framing OID and inner token decodes to the same two; raw NTLMSSP has the
// signature. prefer_unicode keeps the size and changes nothing but clearing OEM in a CHALLENGE
// that also has UNICODE.
#include <algorithm>

#include "rdp/ber.hpp"
#include "rdp/gss_token.hpp"
#include "rdp/ntlmssp.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;

namespace {

Bytes reframe(ByteView oid, ByteView inner) {
    Bytes out;
    ber::DerWriter w(out);
    w.begin(gss::kInitialContextTokenTag);
    w.begin(gss::kOidTag);
    out.insert(out.end(), oid.begin(), oid.end());
    w.end();
    out.insert(out.end(), inner.begin(), inner.end());
    w.end();
    return out;
}

void check_first_token(ByteView input) {
    auto first = gss::classify_first_token(input);
    if (!first) return;
    if (first->framing == gss::Framing::raw_ntlmssp) {
        FUZZ_CHECK(ntlmssp::has_signature(input), "raw NTLMSSP without the signature");
        FUZZ_CHECK(first->oid.empty(), "raw NTLMSSP with an OID");
        return;
    }
    auto decoded = gss::decode_initial_context_token(input);
    FUZZ_CHECK(decoded.ok(), "classified but does not decode");
    FUZZ_CHECK(std::ranges::equal(decoded->mechanism, first->oid), "two different OIDs");
    FUZZ_CHECK(first->mechanism == gss::mechanism_of(first->oid), "mechanism differs from OID");
    FUZZ_CHECK(decoded->inner.data() + decoded->inner.size() == input.data() + input.size(),
               "inner token is not the input's tail");
    Bytes again = reframe(decoded->mechanism, decoded->inner);
    auto redecoded = gss::decode_initial_context_token(again);
    FUZZ_CHECK(redecoded.ok(), "re-framed token does not decode: " + redecoded.error().message());
    FUZZ_CHECK(std::ranges::equal(redecoded->mechanism, decoded->mechanism) &&
                   std::ranges::equal(redecoded->inner, decoded->inner),
               "re-framed token decodes differently");
}

void check_prefer_unicode(ByteView input) {
    Bytes out = ntlmssp::prefer_unicode(input);
    FUZZ_CHECK(out.size() == input.size(), "size changed");
    auto flags = ntlmssp::read_challenge_flags(input);
    const bool fix =
        flags && (*flags & ntlmssp::kNegotiateUnicode) && (*flags & ntlmssp::kNegotiateOem);
    if (!fix) {
        FUZZ_CHECK(std::ranges::equal(out, input), "changed a token it should pass through");
        return;
    }
    auto fixed = ntlmssp::read_challenge_flags(out);
    FUZZ_CHECK(fixed.ok() && *fixed == (*flags & ~ntlmssp::kNegotiateOem), "flags not as fixed");
    for (std::size_t i = 0; i < out.size(); ++i)
        FUZZ_CHECK(out[i] == input[i] || i == 20, "changed a byte outside the flags");
}

}  // namespace

RDPBRIDGE_FUZZ_TARGET(fuzz_gss_token) {
    check_first_token(input);
    check_prefer_unicode(input);
    auto type = ntlmssp::read_message_type(input);
    FUZZ_CHECK(type.ok() == (input.size() >= 12 && ntlmssp::has_signature(input)),
               "message type read without a signature, or refused with one");
}

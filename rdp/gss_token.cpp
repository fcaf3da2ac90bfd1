#include "rdp/gss_token.hpp"

#include <algorithm>
#include <string>

#include "rdp/ber.hpp"
#include "rdp/ntlmssp.hpp"

namespace rdpbridge::rdp::gss {

namespace {
template <std::size_t N>
bool same(ByteView oid, const uint8_t (&known)[N]) {
    return std::equal(oid.begin(), oid.end(), std::begin(known), std::end(known));
}
}  // namespace

Mechanism mechanism_of(ByteView oid) {
    if (same(oid, kNtlmOid)) return Mechanism::ntlm;
    if (same(oid, kSpnegoOid)) return Mechanism::spnego;
    if (same(oid, kKrb5Oid) || same(oid, kMsKrb5Oid)) return Mechanism::kerberos;
    return Mechanism::other;
}

Result<InitialContextToken> decode_initial_context_token(ByteView token) {
    Reader r(token);
    // ber's reader takes lengths up to 65,535 bytes, more than a CredSSP TSRequest can carry.
    auto header = ber::read_header(r, kInitialContextTokenTag, "gss.initial_context_token");
    if (!header) return header.error();
    if (header->length != r.remaining())
        return Error{"gss.initial_context_token.length",
                     "announces " + std::to_string(header->length) + " byte(s), " +
                         std::to_string(r.remaining()) + " follow"};
    auto oid = ber::read(r, kOidTag, "gss.initial_context_token.this_mech");
    if (!oid) return oid.error();
    if (oid->value.empty()) return Error{"gss.initial_context_token.this_mech", "empty OID"};
    return InitialContextToken{oid->value, r.rest()};
}

Result<FirstToken> classify_first_token(ByteView token) {
    if (token.empty()) return Error{"gss.first_token", "empty"};
    if (ntlmssp::has_signature(token))
        return FirstToken{Framing::raw_ntlmssp, Mechanism::ntlm, ByteView{}};
    if (token[0] != kInitialContextTokenTag)
        return Error{"gss.first_token",
                     "neither an NTLMSSP message nor a GSS-API token (first byte " +
                         hex(token.first(1)) + ")"};
    auto framed = decode_initial_context_token(token);
    if (!framed) return framed.error();
    return FirstToken{Framing::initial_context_token, mechanism_of(framed->mechanism),
                      framed->mechanism};
}

}  // namespace rdpbridge::rdp::gss

// The framing of a security context's first token (RFC 2743 3.1): an [APPLICATION 0] tag
// (0x60), a DER length, the mechanism's OID, then the mechanism's own token. An acceptor has to
// know the mechanism before it can acquire a credential for it (see proxy/nla/gss.hpp), so the
// gateway reads this header itself; the token's content stays opaque here.
#pragma once

#include <cstdint>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::gss {

inline constexpr uint8_t kInitialContextTokenTag = 0x60;
inline constexpr uint8_t kOidTag = 0x06;

// The content octets of the OIDs (no tag, no length): what GSSAPI's gss_OID_desc holds.
// NTLM 1.3.6.1.4.1.311.2.2.10, SPNEGO 1.3.6.1.5.5.2, Kerberos 1.2.840.113554.1.2.2.
inline constexpr uint8_t kNtlmOid[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a};
inline constexpr uint8_t kSpnegoOid[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x02};
inline constexpr uint8_t kKrb5Oid[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02};
// Microsoft's mistyped Kerberos OID (1.2.840.48018.1.2.2), which Windows sends and SPNEGO may
// report as the negotiated mechanism.
inline constexpr uint8_t kMsKrb5Oid[] = {0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02};

enum class Mechanism { ntlm, spnego, kerberos, other };
// Both Kerberos OIDs are kerberos.
Mechanism mechanism_of(ByteView oid);

// The views below point into the decoded token.
struct InitialContextToken {
    ByteView mechanism;  // the OID's content octets
    ByteView inner;      // the mechanism's token
};

// One whole token. Strict about the length: it must cover exactly the bytes that follow it, as
// MIT's SPNEGO and krb5 check (g_verify_token_header) before they read the token.
Result<InitialContextToken> decode_initial_context_token(ByteView token);

// What a client's first token is. Raw NTLMSSP (FreeRDP 2) has no GSS-API framing at all; Windows
// and FreeRDP 3 send SPNEGO's initial context token.
enum class Framing { raw_ntlmssp, initial_context_token };
struct FirstToken {
    Framing framing;
    Mechanism mechanism;  // ntlm for raw NTLMSSP
    ByteView oid;         // the mechanism OID as sent; empty for raw NTLMSSP
};
Result<FirstToken> classify_first_token(ByteView token);

}  // namespace rdpbridge::rdp::gss

// NTLMSSP messages ([MS-NLMP] 2.2.1) as far as the gateway looks into them: telling one from a
// GSS-API token, and the one CHALLENGE flag fix-up gss-ntlmssp needs. Authentication itself is
// gss-ntlmssp's (proxy/nla/gss.hpp); everything else in a message stays opaque here.
#pragma once

#include <cstdint>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::ntlmssp {

inline constexpr uint8_t kSignature[8] = {'N', 'T', 'L', 'M', 'S', 'S', 'P', 0};

enum class MessageType : uint32_t { negotiate = 1, challenge = 2, authenticate = 3 };

// NegotiateFlags bits ([MS-NLMP] 2.2.2.5) that the fix-up below reads.
inline constexpr uint32_t kNegotiateUnicode = 0x00000001;
inline constexpr uint32_t kNegotiateOem = 0x00000002;

// Whether `token` starts with the signature: a raw NTLMSSP message rather than a GSS-API token.
bool has_signature(ByteView token);

// The signature and MessageType every message starts with. Any MessageType is returned as read:
// what to make of one other than the three is the caller's business.
Result<MessageType> read_message_type(ByteView message);

// A CHALLENGE's NegotiateFlags; an Error for any other message or one too short to hold them.
Result<uint32_t> read_challenge_flags(ByteView message);

// FreeRDP-based hosts (freerdp-shadow, gateways built on winpr) send a CHALLENGE with both
// NEGOTIATE_UNICODE and NEGOTIATE_OEM, a combination gss-ntlmssp's initiator refuses. [MS-NLMP]
// says UNICODE wins when both are set, so clearing OEM means the same in a form gss-ntlmssp
// accepts. Only sound without SPNEGO (no mechListMIC covers the CHALLENGE; the NTLMv2 MIC covers
// what gss-ntlmssp saw). Every other token comes back unchanged.
Bytes prefer_unicode(ByteView token);

}  // namespace rdpbridge::rdp::ntlmssp

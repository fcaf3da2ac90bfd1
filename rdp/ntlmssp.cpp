#include "rdp/ntlmssp.hpp"

#include <algorithm>

namespace rdpbridge::rdp::ntlmssp {

namespace {
// Signature, MessageType, then the CHALLENGE's TargetNameFields before its NegotiateFlags.
constexpr std::size_t kTargetNameFieldsSize = 8;
constexpr std::size_t kFlagsOffset = sizeof kSignature + 4 + kTargetNameFieldsSize;
}  // namespace

bool has_signature(ByteView token) {
    return token.size() >= sizeof kSignature &&
           std::equal(std::begin(kSignature), std::end(kSignature), token.begin());
}

Result<MessageType> read_message_type(ByteView message) {
    Reader r(message);
    auto signature = r.bytes(sizeof kSignature, "ntlmssp.signature");
    if (!signature) return signature.error();
    if (!has_signature(*signature))
        return Error{"ntlmssp.signature", "expected \"NTLMSSP\\0\", got " + hex(*signature)};
    auto type = r.u32le("ntlmssp.message_type");
    if (!type) return type.error();
    return MessageType(*type);
}

Result<uint32_t> read_challenge_flags(ByteView message) {
    auto type = read_message_type(message);
    if (!type) return type.error();
    if (*type != MessageType::challenge)
        return Error{"ntlmssp.message_type",
                     "expected CHALLENGE (2), got " + std::to_string(uint32_t(*type))};
    Reader r(message.subspan(sizeof kSignature + 4));
    if (auto s = r.skip(kTargetNameFieldsSize, "ntlmssp.challenge.target_name_fields"); !s)
        return s.error();
    return r.u32le("ntlmssp.challenge.negotiate_flags");
}

Bytes prefer_unicode(ByteView token) {
    Bytes out(token.begin(), token.end());
    auto flags = read_challenge_flags(token);
    if (flags && (*flags & kNegotiateUnicode) && (*flags & kNegotiateOem))
        store_u32le(&out[kFlagsOffset], *flags & ~kNegotiateOem);
    return out;
}

}  // namespace rdpbridge::rdp::ntlmssp

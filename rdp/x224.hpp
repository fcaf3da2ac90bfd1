// X.224 Connection Request / Confirm with the RDP negotiation structures ([MS-RDPBCGR]
// 2.2.1.1 and 2.2.1.2). These two PDUs are the only plaintext the proxy reads before TLS, and
// the first bytes an unauthenticated peer controls, so decoding is strict.
#pragma once

#include <optional>
#include <string>
#include <variant>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp {

// requestedProtocols / selectedProtocol bits.
namespace protocol {
inline constexpr uint32_t rdp = 0x00;  // Standard RDP Security: the absence of any bit
inline constexpr uint32_t ssl = 0x01;
inline constexpr uint32_t hybrid = 0x02;
inline constexpr uint32_t rdstls = 0x04;
inline constexpr uint32_t hybrid_ex = 0x08;
inline constexpr uint32_t rdsaad = 0x10;
}  // namespace protocol

// "RDP" for 0, otherwise the set bits joined by '|', e.g. "SSL|HYBRID|HYBRID_EX".
std::string protocols_to_string(uint32_t protocols);

namespace neg_req_flags {
inline constexpr uint8_t restricted_admin_mode_required = 0x01;
inline constexpr uint8_t redirected_authentication_mode_required = 0x02;
inline constexpr uint8_t correlation_info_present = 0x08;
}  // namespace neg_req_flags

namespace neg_rsp_flags {
inline constexpr uint8_t extended_client_data_supported = 0x01;
inline constexpr uint8_t dynvc_gfx_protocol_supported = 0x02;
inline constexpr uint8_t restricted_admin_mode_supported = 0x08;
inline constexpr uint8_t redirected_authentication_mode_supported = 0x10;
}  // namespace neg_rsp_flags

enum class NegFailureCode : uint32_t {
    ssl_required_by_server = 1,
    ssl_not_allowed_by_server = 2,
    ssl_cert_not_on_server = 3,
    inconsistent_flags = 4,
    hybrid_required_by_server = 5,
    ssl_with_user_auth_required_by_server = 6,
};
// The spec's constant name, e.g. "SSL_NOT_ALLOWED_BY_SERVER"; "UNKNOWN(0x..)" otherwise.
std::string to_string(NegFailureCode code);

struct NegotiationRequest {
    uint8_t flags = 0;
    uint32_t requested_protocols = 0;
};

struct ConnectionRequest {
    // At most one of the two: the value of `Cookie: mstshash=VALUE`, or any other cookie line
    // (a broker's `Cookie: msts=...` routing token), kept whole without its CR LF.
    std::optional<std::string> mstshash;
    std::optional<std::string> routing_token;
    std::optional<NegotiationRequest> negotiation;
    std::optional<Bytes> correlation_info;  // RDP_NEG_CORRELATION_INFO, 36 bytes, kept opaque
};

struct NegotiationResponse {
    uint8_t flags = 0;
    uint32_t selected_protocol = 0;
};

struct NegotiationFailure {
    NegFailureCode code{};
};

struct ConnectionConfirm {
    // monostate: the host answered without negotiation data, as hosts older than RDP 5.2 do;
    // that means Standard RDP Security.
    std::variant<std::monostate, NegotiationResponse, NegotiationFailure> negotiation;
};

// Both decoders take one complete TPKT frame (see peek_frame).
Result<ConnectionRequest> decode_connection_request(ByteView frame);
Result<ConnectionConfirm> decode_connection_confirm(ByteView frame);
Bytes encode(const ConnectionRequest& request);
Bytes encode(const ConnectionConfirm& confirm);

}  // namespace rdpbridge::rdp

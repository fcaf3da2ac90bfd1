// The RDP PDUs the synthetic peers exchange: just enough of [MS-RDPBCGR] to pass through
// rdpbridge for real. Connect PDUs are built with the rdp/ codecs (which recompute every
// enclosing length); the fast-path PDUs are framed by hand because rdp/ only parses their header.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rdp/bytes.hpp"
#include "rdp/mcs.hpp"

namespace rdpbridge::bench {

// X.224 Connection Request with a mstshash cookie and RDP_NEG_REQ offering PROTOCOL_SSL only,
// as a client that insists on TLS sends it.
rdp::Bytes connection_request();
// X.224 Connection Confirm with RDP_NEG_RSP selecting `selected`: PROTOCOL_SSL as a Windows 7
// host answers, PROTOCOL_RDP as a host set to "Security Layer: RDP" does.
rdp::Bytes connection_confirm(uint32_t selected);

// MCS Connect Initial with CS_CORE (216 bytes, so serverSelectedProtocol is present),
// CS_SECURITY and CS_NET (rdpdr, cliprdr: kClientChannels).
inline constexpr std::size_t kClientChannels = 2;
rdp::Bytes connect_initial(uint32_t server_selected_protocol);
// MCS Connect Response with SC_CORE (echoing `client_requested`), SC_SECURITY and SC_NET
// assigning one id per requested channel. SC_SECURITY is `sc_security` when given (a Standard
// RDP Security host's), else method 0 and level 0: what a host sends under TLS.
rdp::Bytes connect_response(uint32_t client_requested, std::size_t channel_count,
                            const rdp::Bytes* sc_security = nullptr);

// The MCS domain sequence after the connect exchange ([MS-RDPBCGR] 1.3.1.1, 2.2.1.5-2.2.1.9):
// the client erects the domain, attaches a user, then joins its user channel, the I/O channel
// and each static channel by the ids in SC_NET, one join at a time; the host answers the attach
// and every join. The synthetic host gives the I/O channel kIoChannel, static channel i the id
// kIoChannel + 1 + i, and the user kUserInitiator (channel 1001 + initiator, as on the wire).
inline constexpr uint16_t kIoChannel = 1003;
inline constexpr uint16_t kUserInitiator = 6;  // user channel 1007, as Windows attaches with 2
rdp::Bytes erect_domain_request();
rdp::Bytes attach_user_request();
rdp::Bytes attach_user_confirm();  // successful, for kUserInitiator
rdp::Bytes channel_join_request(uint16_t initiator, uint16_t channel);
// The initiator a successful Attach User Confirm grants.
rdp::Result<uint16_t> read_attach_user_confirm(rdp::ByteView frame);
// The channel a successful Channel Join Confirm grants (also checked to be the one requested).
rdp::Result<uint16_t> read_channel_join_confirm(rdp::ByteView frame);

// The client's first slow-path PDU: a Client Info PDU (SEC_INFO_PKT, a TS_INFO_PACKET naming no
// one) on the I/O channel. Towards a Standard RDP Security host the gateway sends its Security
// Exchange PDU right before it.
rdp::Bytes client_info_pdu();

// What a synthetic peer checks in the other side's connect PDU. The gateway may rewrite either
// PDU, so only meaning is checked, never bytes.
struct ConnectInitialFacts {
    std::size_t channel_count = 0;
};
rdp::Result<ConnectInitialFacts> check_connect_initial(rdp::ByteView frame);
struct ConnectResponseFacts {
    std::optional<uint32_t> client_requested_protocols;
    uint16_t io_channel = 0;
    std::vector<uint16_t> channel_ids;  // SC_NET's, one per CS_NET channel in the client's order
};
rdp::Result<ConnectResponseFacts> check_connect_response(rdp::ByteView frame);

// Fast-path output PDU of exactly `size` bytes: one Stream Surface Bits command whose opaque
// bitmap data starts with a send timestamp and a sequence number (the latency probe).
inline constexpr std::size_t kMinOutputPdu = 44;
inline constexpr std::size_t kMaxFastPathPdu = 0x7FFF;  // 15-bit length field
rdp::Bytes fastpath_output(std::size_t size);
// Writes the probe into a PDU built by fastpath_output; reads it back on the receiving side.
void stamp_output(rdp::Bytes& pdu, uint64_t send_ns, uint64_t sequence);
struct Probe {
    uint64_t send_ns;
    uint64_t sequence;
};
// `head` holds at least the first kProbeEnd bytes of a fast-path output PDU.
inline constexpr std::size_t kProbeEnd = 44;
std::optional<Probe> read_probe(rdp::ByteView head);

// Fast-path input PDU carrying `events` mouse-move events (1..255): the largest valid input
// PDU has 255 of them, 1,789 bytes.
inline constexpr std::size_t kMaxInputEvents = 255;
rdp::Bytes fastpath_input(std::size_t events);

// A Send Data Request from user kUserInitiator on `channel` (rdpdr's id in SC_NET): one chunk
// (FIRST | LAST) of a Device I/O Response ([MS-RDPEFS] 2.2.1.5, DR_READ_RSP) returning 1,580
// bytes of a read, a 1,600-byte message (CHANNEL_CHUNK_LENGTH): what a client sends while the host
// reads from a redirected device. Not a device list, so a channel policy passes it unchanged.
rdp::Bytes rdpdr_read_response(uint16_t channel);

}  // namespace rdpbridge::bench

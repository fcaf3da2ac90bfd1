// MCS domain PDUs after the connect exchange (T.125, PER). The bridge only needs to look inside
// Send Data Request / Indication — the carriers of every slow-path RDP PDU — and to recognise
// the others (erect domain, attach user, channel join, disconnect) so it can pass them on.
#pragma once

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::mcs {

enum class DomainPdu : uint8_t {
    erect_domain_request = 1,
    disconnect_provider_ultimatum = 8,
    attach_user_request = 10,
    attach_user_confirm = 11,
    channel_join_request = 14,
    channel_join_confirm = 15,
    send_data_request = 25,
    send_data_indication = 26,
};

// The PDU type of an X.224 Data payload (the top six bits of its first byte).
Result<DomainPdu> domain_pdu_type(ByteView payload);

struct SendData {
    bool indication = false;  // server -> client
    uint16_t initiator = 0;   // as on the wire (user id - 1001)
    uint16_t channel = 0;
    uint8_t priority_segmentation = 0x70;
    ByteView user_data;  // points into the decoded payload
};

Result<SendData> decode_send_data(ByteView payload);
// The whole TPKT frame around a Send Data PDU carrying `user_data`.
Result<Bytes> encode_send_data(const SendData& header, ByteView user_data);
// The same frame appended to `out`, written in place after one reserve: no intermediate copy
// of `user_data` is made (for user data holding a secret, such as a Client Info with a
// password). On error `out` is unchanged.
Status append_send_data(const SendData& header, ByteView user_data, Bytes& out);

// Channel Join Request (T.125 ChannelJoinRequest): who asks (user id - 1001, as on the wire) for
// which channel.
struct ChannelJoin {
    uint16_t initiator = 0;
    uint16_t channel = 0;
};
Result<ChannelJoin> decode_channel_join_request(ByteView payload);
// The whole TPKT frame of a successful Channel Join Confirm for `join`: what the gateway answers
// for a channel it kept from the host.
Bytes encode_channel_join_confirm(const ChannelJoin& join);

// The reason of a Disconnect Provider Ultimatum (T.125: 0 domain disconnected, 1 provider
// initiated, 2 token purged, 3 user requested, 4 channel purged).
Result<uint8_t> disconnect_reason(ByteView payload);
// Whether an X.224 Data payload is a whole Disconnect Provider Ultimatum: how xrdp refuses a
// request it dislikes where a Connection Confirm or Connect Response was due.
bool is_disconnect_ultimatum(ByteView payload);

}  // namespace rdpbridge::rdp::mcs

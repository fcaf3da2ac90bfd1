// T.125 MCS Connect Initial / Connect Response (BER), the envelope of the GCC blocks a bridge
// must rewrite. Everything except the user data is kept as decoded bytes, so re-encoding an
// unchanged PDU reproduces it exactly.
#pragma once

#include "rdp/gcc.hpp"

namespace rdpbridge::rdp::mcs {

struct ConnectPdu {
    gcc::Direction direction = gcc::Direction::request;  // request = Connect Initial
    Bytes fields_before_user_data;  // domain selectors/parameters or result/id/parameters
    gcc::ConferenceCreate conference;
    uint8_t outer_length_width = 3;  // BER length widths seen on decode, reused on encode
    uint8_t user_data_length_width = 3;
};

// `payload` is the X.224 Data payload (see unwrap_x224_data).
Result<ConnectPdu> decode_connect_initial(ByteView payload);
Result<ConnectPdu> decode_connect_response(ByteView payload);
// The whole TPKT frame. Fails only when the PDU would outgrow a TPKT frame.
Result<Bytes> encode(const ConnectPdu& pdu);

// True when an X.224 Data payload starts like a Connect Initial (BER 7F 65).
bool looks_like_connect_initial(ByteView payload);

}  // namespace rdpbridge::rdp::mcs

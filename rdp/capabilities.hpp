// The host's Demand Active PDU ([MS-RDPBCGR] 2.2.1.13.1): the one capability the gateway edits.
// A client compresses its virtual channel data when the host's Virtual Channel Capability Set
// offers VCCAPS_COMPR_CS_8K; compressed rdpdr data cannot be read without the client's
// compression history, so where device lists must be read the offer is taken back.
#pragma once

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::caps {

inline constexpr uint16_t kVirtualChannel = 0x0014;    // CAPSTYPE_VIRTUALCHANNEL
inline constexpr uint32_t kCompressCs8k = 0x00000002;  // VCCAPS_COMPR_CS_8K

// Whether `share_control` (a slow-path PDU from its Share Control Header) is a Demand Active.
bool is_demand_active(ByteView share_control);

// Clears VCCAPS_COMPR_CS_8K in a Demand Active, in place; true when it was set.
Result<bool> refuse_client_channel_compression(Bytes& share_control);

}  // namespace rdpbridge::rdp::caps

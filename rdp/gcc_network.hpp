// The network blocks of the connect exchange: the client's CS_NET (the static virtual channels it
// asks for, [MS-RDPBCGR] 2.2.1.3.4) and the host's SC_NET (the MCS channel id it gives each,
// 2.2.1.4.4). Decoded into editable values so a channel can be taken out of one and its id put
// back into the other; encode() writes exactly what decode() read for an unchanged value.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "rdp/gcc.hpp"

namespace rdpbridge::rdp::gcc {

struct ChannelDef {
    std::array<uint8_t, 8> name{};  // as sent: ASCII, NUL-terminated (bytes after the NUL kept)
    uint32_t options = 0;           // CHANNEL_OPTION_* flags

    std::string text() const;  // the name up to its NUL
};

Result<std::vector<ChannelDef>> decode_client_network(const DataBlock& cs_net);
DataBlock encode_client_network(const std::vector<ChannelDef>& channels);

struct ServerNetwork {
    uint16_t io_channel = 0;
    std::vector<uint16_t> channel_ids;  // one per CS_NET channel, in the client's order
};

Result<ServerNetwork> decode_server_network(const DataBlock& sc_net);
// With the two padding bytes the block carries when the channel count is odd.
DataBlock encode_server_network(const ServerNetwork& net);

}  // namespace rdpbridge::rdp::gcc

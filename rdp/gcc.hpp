// T.124 GCC Conference Create Request/Response as RDP uses them: a fixed PER preamble around
// a list of client or server data blocks ([MS-RDPBCGR] 2.2.1.3, 2.2.1.4). The preamble is kept
// as decoded bytes; the blocks are editable, and encode() recomputes every enclosing length.
#pragma once

#include <optional>
#include <vector>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::gcc {

namespace block {
inline constexpr uint16_t cs_core = 0xC001;
inline constexpr uint16_t cs_security = 0xC002;
inline constexpr uint16_t cs_net = 0xC003;
inline constexpr uint16_t cs_cluster = 0xC004;
inline constexpr uint16_t cs_monitor = 0xC005;
inline constexpr uint16_t cs_mcs_msgchannel = 0xC006;
inline constexpr uint16_t cs_monitor_ex = 0xC008;
inline constexpr uint16_t cs_multitransport = 0xC00A;
inline constexpr uint16_t sc_core = 0x0C01;
inline constexpr uint16_t sc_security = 0x0C02;
inline constexpr uint16_t sc_net = 0x0C03;
inline constexpr uint16_t sc_mcs_msgchannel = 0x0C04;
inline constexpr uint16_t sc_multitransport = 0x0C08;
}  // namespace block

struct DataBlock {
    uint16_t type = 0;
    Bytes body;  // without the 4-byte type/length header
};

enum class Direction { request, response };

struct ConferenceCreate {
    Direction direction = Direction::request;
    Bytes connect_pdu_header;  // ConnectGCCPDU fields up to and including the H.221 key
    // Declared minus actual ConnectGCCPDU length. xrdp 0.9 declares only the user data's size
    // (13 bytes short); peers ignore the field, so we accept and reproduce whatever was sent.
    int connect_length_skew = 0;
    bool long_connect_length = false;  // PER length forms seen on decode, reused on encode
    bool long_user_data_length = false;
    std::vector<DataBlock> blocks;

    DataBlock* find(uint16_t type);
    const DataBlock* find(uint16_t type) const;
};

Result<ConferenceCreate> decode(ByteView user_data, Direction direction);
Bytes encode(const ConferenceCreate& cc);
// Fails when a length encode() must write exceeds what PER can carry (blocks grew too much).
Status encodable(const ConferenceCreate& cc);

// CS_CORE.serverSelectedProtocol lives at byte 212 of the block (208 of its body) and is
// present only when the client sent a block that long.
inline constexpr std::size_t kCsCoreServerSelectedProtocol = 208;
std::optional<uint32_t> server_selected_protocol(const DataBlock& cs_core);
bool set_server_selected_protocol(DataBlock& cs_core, uint32_t value);

// SC_CORE: version (4), clientRequestedProtocols (4, optional), earlyCapabilityFlags (4).
inline constexpr std::size_t kScCoreClientRequestedProtocols = 4;
std::optional<uint32_t> client_requested_protocols(const DataBlock& sc_core);
bool set_client_requested_protocols(DataBlock& sc_core, uint32_t value);
// SC_CORE.version: the host's RDP version (0x00080004 is RDP 5 and later, 0x0008000C RDP 10.x).
std::optional<uint32_t> server_version(const DataBlock& sc_core);

// CS_NET channel names, in the order the server assigns channel ids.
Result<std::vector<std::string>> channel_names(const DataBlock& cs_net);

}  // namespace rdpbridge::rdp::gcc

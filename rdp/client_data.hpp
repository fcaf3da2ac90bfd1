// The client's side of the GCC Conference Create Request, built rather than relayed: the
// CS_CORE, CS_SECURITY and CS_NET blocks ([MS-RDPBCGR] 2.2.1.3.2-4) and the T.125 fields that
// precede them in an MCS Connect Initial. The bridge never builds these (it rewrites what the
// client sent); a component that opens a connection of its own (rdpbridge probe) does.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "rdp/gcc.hpp"

namespace rdpbridge::rdp::gcc {

// TS_UD_CS_CORE up to and including serverSelectedProtocol, the last field a host before
// RDP 6 reads. Defaults are what mstsc of the XP SP3 era sends.
struct ClientCore {
    uint32_t version = 0x00080004;  // RDP 5.0 and later
    uint16_t desktop_width = 1024;
    uint16_t desktop_height = 768;
    uint16_t color_depth = 0xCA01;  // RNS_UD_COLOR_8BPP
    uint16_t sas_sequence = 0xAA03;
    uint32_t keyboard_layout = 0x0409;  // US
    uint32_t client_build = 2600;
    std::string client_name;     // ASCII; at most 15 characters are sent
    uint32_t keyboard_type = 4;  // IBM enhanced (101/102 keys)
    uint32_t keyboard_sub_type = 0;
    uint32_t keyboard_function_keys = 12;
    uint16_t post_beta2_color_depth = 0xCA01;
    uint16_t client_product_id = 1;
    uint32_t serial_number = 0;
    uint16_t high_color_depth = 16;
    uint16_t supported_color_depths = 0x000F;  // 24, 16, 15 and 32 bpp
    uint16_t early_capability_flags = 0x0001;  // RNS_UD_CS_SUPPORT_ERRINFO_PDU
    uint8_t connection_type = 0;
    uint32_t server_selected_protocol = 0;
};

DataBlock encode(const ClientCore& core);
// TS_UD_CS_SEC. extEncryptionMethods is only for French-locale clients, so it is always 0.
DataBlock client_security(uint32_t encryption_methods);
// TS_UD_CS_NET with no channels: nothing to ask for, MS_T120 least of all.
DataBlock client_network_without_channels();

// ConnectGCCPDU up to the H.221 key, as mstsc and FreeRDP send it: conferenceCreateRequest with
// userData present, conference name "1", one set of user data, h221NonStandard key "Duca".
Bytes conference_create_request_header();

}  // namespace rdpbridge::rdp::gcc

namespace rdpbridge::rdp::mcs {

// T.125 DomainParameters: maxChannelIds, maxUserIds, maxTokenIds, numPriorities,
// minThroughput, maxHeight, maxMCSPDUsize, protocolVersion.
using DomainParameters = std::array<uint32_t, 8>;

struct InitialFields {
    // What a real client proposes.
    DomainParameters target{34, 2, 0, 1, 0, 1, 65535, 2};
    DomainParameters minimum{1, 1, 1, 1, 0, 1, 1056, 2};
    DomainParameters maximum{65535, 64535, 65535, 1, 0, 1, 65535, 2};
};

// The Connect Initial fields before userData (ConnectPdu::fields_before_user_data): domain
// selectors "\x01", upwardFlag TRUE, then the three parameter sets.
Bytes encode(const InitialFields& fields);

}  // namespace rdpbridge::rdp::mcs

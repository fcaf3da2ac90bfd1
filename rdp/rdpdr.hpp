// The few messages of the device redirection channel (rdpdr, [MS-RDPEFS]) the gateway reads: the
// client's Device List Announce, which hands the host the client's drives, printers, ports and
// smart cards, and its Device List Remove. Everything else on the channel passes unread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::rdpdr {

inline constexpr uint16_t kComponentCore = 0x4472;       // RDPDR_CTYP_CORE
inline constexpr uint16_t kDeviceListAnnounce = 0x4441;  // PAKID_CORE_DEVICELIST_ANNOUNCE
inline constexpr uint16_t kDeviceListRemove = 0x444D;    // PAKID_CORE_DEVICELIST_REMOVE
inline constexpr std::size_t kHeaderSize = 4;

namespace device {
inline constexpr uint32_t serial = 0x01;
inline constexpr uint32_t parallel = 0x02;
inline constexpr uint32_t printer = 0x04;
inline constexpr uint32_t drive = 0x08;  // RDPDR_DTYP_FILESYSTEM
inline constexpr uint32_t smartcard = 0x20;
}  // namespace device

// "drive", "printer", ...; "type 0x..." for a type [MS-RDPEFS] does not define.
std::string device_type_name(uint32_t type);

// The packet id of a core message, or 0 for anything else (other components, too short).
uint16_t core_packet(ByteView message);

struct Device {
    uint32_t type = 0;
    uint32_t id = 0;
    std::string dos_name;  // PreferredDosName, up to its NUL (ASCII)
    ByteView announce;     // the whole DEVICE_ANNOUNCE, points into the decoded message
};

Result<std::vector<Device>> decode_device_list_announce(ByteView message);
// The announce again, with only `devices` (taken from a decode of the same kind of message).
Bytes encode_device_list_announce(const std::vector<Device>& devices);

Result<std::vector<uint32_t>> decode_device_list_remove(ByteView message);
Bytes encode_device_list_remove(const std::vector<uint32_t>& ids);

}  // namespace rdpbridge::rdp::rdpdr

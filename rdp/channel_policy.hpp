// Which of the client's static virtual channels, and which rdpdr device types, may reach the
// host: the operator's per-backend choice ([backend.channels]), as plain data for the bridge.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdpbridge::rdp {

// Static channel names compare case-insensitively (ASCII): mstsc and FreeRDP differ in case.
bool same_channel_name(std::string_view a, std::string_view b);

struct ChannelPolicy {
    // Present (even empty): only these channels pass. Names compare case-insensitively.
    std::optional<std::vector<std::string>> allow;
    std::vector<std::string> deny;
    // The same for rdpdr device types (rdpdr::device::*).
    std::optional<std::vector<uint32_t>> allow_devices;
    std::vector<uint32_t> deny_devices;

    bool filters_channels() const { return allow.has_value() || !deny.empty(); }
    bool filters_devices() const { return allow_devices.has_value() || !deny_devices.empty(); }
    bool passes(std::string_view channel) const;
    bool passes_device(uint32_t type) const;
};

}  // namespace rdpbridge::rdp

#include "proxy/channel_policy.hpp"

#include <utility>

#include "rdp/rdpdr.hpp"

namespace rdpbridge::proxy {

namespace {

constexpr std::pair<std::string_view, uint32_t> kDevices[] = {
    {"drive", rdp::rdpdr::device::drive},         {"printer", rdp::rdpdr::device::printer},
    {"serial", rdp::rdpdr::device::serial},       {"parallel", rdp::rdpdr::device::parallel},
    {"smartcard", rdp::rdpdr::device::smartcard},
};

// Config has checked the names; one it does not know matches no device.
std::vector<uint32_t> device_types(const std::vector<std::string>& names) {
    std::vector<uint32_t> types;
    for (const auto& n : names)
        for (const auto& [name, type] : kDevices)
            if (n == name) types.push_back(type);
    return types;
}

}  // namespace

rdp::ChannelPolicy bridge_channel_policy(const config::ChannelPolicy& policy) {
    rdp::ChannelPolicy p;
    p.allow = policy.channels.allow;
    p.deny = policy.channels.deny;
    if (policy.devices.allow) p.allow_devices = device_types(*policy.devices.allow);
    p.deny_devices = device_types(policy.devices.deny);
    return p;
}

}  // namespace rdpbridge::proxy

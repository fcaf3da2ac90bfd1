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

std::string list(const std::vector<std::string>& names) {
    if (names.empty()) return "(none)";
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ",") + n;
    return s;
}

std::string describe(std::string_view what, const config::PassRules& rules) {
    if (rules.allow) return std::string(what) + " allow " + list(*rules.allow);
    if (!rules.deny.empty()) return std::string(what) + " deny " + list(rules.deny);
    return "";
}

}  // namespace

const config::ChannelPolicy* effective_channel_policy(const config::Backend& backend,
                                                      const config::Route* route) {
    if (route && route->channels) return &*route->channels;
    return backend.channels ? &*backend.channels : nullptr;
}

rdp::ChannelPolicy bridge_channel_policy(const config::ChannelPolicy& policy) {
    rdp::ChannelPolicy p;
    p.allow = policy.channels.allow;
    p.deny = policy.channels.deny;
    if (policy.devices.allow) p.allow_devices = device_types(*policy.devices.allow);
    p.deny_devices = device_types(policy.devices.deny);
    return p;
}

std::string describe(const config::ChannelPolicy& policy) {
    const std::string channels = describe("channels", policy.channels);
    const std::string devices = describe("devices", policy.devices);
    if (channels.empty() && devices.empty()) return "everything passes";
    if (channels.empty() || devices.empty()) return channels + devices;
    return channels + "; " + devices;
}

}  // namespace rdpbridge::proxy

// A backend's (or route's) [*.channels] table as the bridge enforces it: device names become
// rdpdr device types.
#pragma once

#include "config/config.hpp"
#include "rdp/channel_policy.hpp"

namespace rdpbridge::proxy {

rdp::ChannelPolicy bridge_channel_policy(const config::ChannelPolicy& policy);

}  // namespace rdpbridge::proxy

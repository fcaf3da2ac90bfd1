// A backend's (or route's) [*.channels] table, turned into what the bridge enforces and into one
// line an operator reads in the log.
#pragma once

#include <string>

#include "config/config.hpp"
#include "rdp/channel_policy.hpp"

namespace rdpbridge::proxy {

// The route's table when it has one, else the backend's; nullptr: no policy.
const config::ChannelPolicy* effective_channel_policy(const config::Backend& backend,
                                                      const config::Route* route);

rdp::ChannelPolicy bridge_channel_policy(const config::ChannelPolicy& policy);

// "channels deny cliprdr; devices deny drive", "channels allow (none)", ...
std::string describe(const config::ChannelPolicy& policy);

}  // namespace rdpbridge::proxy

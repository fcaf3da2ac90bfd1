// Which static virtual channels of a client, and which rdpdr device types, reach a backend
// ([backend.channels], [route.channels]), without TOML: the names an operator may write and
// their checks, which policy applies to a client, what passes it, and how check-config shows and
// warns about it. The TOML is read in load_channels.cpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace rdpbridge::config {

// Static virtual channels that clients offer in CS_NET ([MS-RDPBCGR] 2.2.1.3.4), lower case:
// device redirection, audio output, clipboard, the dynamic channels' carrier, RemoteApp (mstsc
// also registers rail_wi and rail_ri), multiparty and remote assistance, and MS_T120 (never
// offered by an honest client; [shield] refuses it). Dynamic channels (graphics pipeline, audio
// input, tsmf) travel inside drdynvc and are not named here. Other names are accepted (third-party
// channels exist), but check-config warns: usually they are typos.
inline constexpr std::string_view kKnownChannels[] = {
    "rdpdr",   "rdpsnd",  "cliprdr", "drdynvc", "rail",
    "rail_wi", "rail_ri", "encomsp", "remdesk", "ms_t120",
};

// rdpdr device types ([MS-RDPEFS] 2.2.1.3 DeviceType) as [*.channels.devices] names them.
inline constexpr std::string_view kDeviceTypes[] = {"drive", "printer", "serial", "parallel",
                                                    "smartcard"};

// CHANNEL_DEF.name is 8 bytes, the last a NUL.
inline constexpr std::size_t kMaxChannelName = 7;

// A static channel name as written: 1..7 printable ASCII characters, no space. `out` gets it in
// lower case; the problem, with the fix, otherwise.
std::optional<std::string> check_channel_name(std::string_view text, std::string& out);

// One of kDeviceTypes, in any case; `out` gets it in lower case.
std::optional<std::string> check_device_type(std::string_view text, std::string& out);

// `lower_name` is one of kKnownChannels.
bool is_known_channel(std::string_view lower_name);

// Whether `name` (any case) passes `rules`: with `allow`, only what it lists; else all but `deny`.
bool passes(const PassRules& rules, std::string_view name);

// The policy for a client of `backend` that matched `route` (nullptr: routed by the listener's
// default_backend): the route's [route.channels] if it has one, else the backend's; nullptr when
// neither has a table, and then everything passes.
const ChannelPolicy* effective_channel_policy(const Backend& backend, const Route* route);

// How check-config shows a policy: "all", "none", "only rdpsnd, cliprdr", "all but cliprdr";
// for a ChannelPolicy "channels all but cliprdr, rdpdr devices only printer" (devices only when
// they are restricted and rdpdr passes).
std::string describe(const PassRules& rules);
std::string describe(const ChannelPolicy& policy);

// What warnings() says about every [backend.channels] and [route.channels]: names that are no
// known static channel (with "did you mean"), and device rules while rdpdr does not pass. Each
// names the file, line and key where the config keeps their positions.
void channel_warnings(const Config& config, std::vector<std::string>& out);

}  // namespace rdpbridge::config

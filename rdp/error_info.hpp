// The errorInfo codes of the Set Error Info PDU ([MS-RDPBCGR] 2.2.5.1.1): the host's own words
// for why it is about to drop the connection. Every code the section documents has its
// ERRINFO_* name and a one-line plain description; anything else is reported as unknown with
// its value, never guessed.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rdpbridge::rdp {

struct ErrorInfoEntry {
    uint32_t code;
    std::string_view name;         // the spec's constant, e.g. "ERRINFO_LOGOFF_BY_USER"
    std::string_view description;  // one sentence for an admin
};

// Every documented code, sorted by code, each once: protocol-independent (0x0..0x1A),
// licensing (0x100..0x10A), Connection Broker (0x400..0x412) and RDP-specific
// (0x10C9..0x1195) codes.
std::span<const ErrorInfoEntry> error_info_table();

// The ERRINFO_* name of a documented code; nullopt for any other value.
std::optional<std::string_view> error_info_name(uint32_t code);
// The plain description of a documented code; nullopt for any other value.
std::optional<std::string_view> error_info_description(uint32_t code);
// "ERRINFO_LOGOFF_BY_USER (0x0000000C)", or "unknown ERRINFO 0x0000BEEF".
std::string error_info_to_string(uint32_t code);

}  // namespace rdpbridge::rdp

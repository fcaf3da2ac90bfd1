// Words for findings that both reports (human and JSON) use, so that they always agree.
#pragma once

#include <string>
#include <vector>

#include "proxy/probe/findings.hpp"

namespace rdpbridge::probe {

// "127.0.0.1:3389", "[::1]:3389", "host.example:3389".
std::string target_text(const Target& t);

// "SUCCESS: SSL", "RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER", "answers without negotiation
// (pre-RDP-5.2 host)", "no answer", "closed", or what else came back.
std::string answer_text(const LayerResult& l);

// RDP_NEG_RSP flag names, e.g. {"EXTENDED_CLIENT_DATA_SUPPORTED"}.
std::vector<std::string> neg_flag_names(uint8_t flags);

// SC_CORE version: "RDP 4.0", "RDP 5.0 to 8.1", "RDP 10.7", or the hex value.
std::string rdp_version_text(uint32_t version);

// "ab:cd:..." from "abcd...": how pins and fingerprints are shown.
std::string colon_hex(const std::string& hex);

// The one line printed when there is no RDP host to report on.
std::string one_line(const Findings& f);

}  // namespace rdpbridge::probe

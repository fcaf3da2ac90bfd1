// The Save Session Info PDU ([MS-RDPBCGR] 2.2.10.1) can carry an auto-reconnect cookie keyed
// with the host's server random — which, on a bridged leg, the client never saw. The bridge
// removes the cookie rather than hand the client something it cannot use.
#pragma once

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::session_info {

// `share_control` is a slow-path PDU starting with its Share Control Header. When it is a Save
// Session Info PDU with an auto-reconnect cookie, removes the cookie field (fixing every length)
// and returns true; otherwise leaves it untouched and returns false.
bool strip_autoreconnect_cookie(Bytes& share_control);

}  // namespace rdpbridge::rdp::session_info

// The few PDUs the probe sends, built with the rdp/ codecs. None carries a credential: the
// cookie names the probe in the host's logs, and the Connect Initial is the minimal one a real
// client opens Standard RDP Security with (no channels, so nothing like MS_T120 is asked for).
#pragma once

#include <cstdint>

#include "rdp/bytes.hpp"
#include "rdp/gcc.hpp"

namespace rdpbridge::probe {

// `Cookie: mstshash=` value. Besides naming the probe in the host's logs, the CR LF after it
// makes line-based servers (HTTP) answer instead of waiting for the end of a line.
inline constexpr const char* kProbeCookie = "rdpbridge";
// CS_CORE clientName (at most 15 characters).
inline constexpr const char* kProbeClientName = "rdpbridge-probe";

// An X.224 Connection Request with an RDP_NEG_REQ for `requested_protocols`, or without any
// negotiation data (the form pre-RDP-5.2 clients send) when `with_negotiation` is false.
rdp::Bytes connection_request(uint32_t requested_protocols, bool with_negotiation = true);

// CS_CORE, CS_SECURITY and CS_NET for a client that offers `encryption_methods` (40BIT 0x01,
// 128BIT 0x02, 56BIT 0x08, FIPS 0x10) and was given `server_selected_protocol` in X.224.
std::vector<rdp::gcc::DataBlock> client_blocks(uint32_t encryption_methods,
                                               uint32_t server_selected_protocol);

// The whole MCS Connect Initial TPKT frame around client_blocks().
rdp::Result<rdp::Bytes> connect_initial(uint32_t encryption_methods,
                                        uint32_t server_selected_protocol);

}  // namespace rdpbridge::probe

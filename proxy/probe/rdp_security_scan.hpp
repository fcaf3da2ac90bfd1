// Standard RDP Security: offers one encryption method per connection in the MCS Connect Initial
// and reads the host's SC_SECURITY (method, level, certificate) from the Connect Response. The
// probe stops there: no Security Exchange, no licensing, no login.
#pragma once

#include <string>

#include "proxy/probe/findings.hpp"
#include "proxy/probe/wire.hpp"

namespace rdpbridge::probe {

// 40BIT, 56BIT, 128BIT, FIPS one at a time, then all four together.
RdpSecurityFindings scan_rdp_security(const std::string& ip, uint16_t port, Budget& budget);

// The pure half: what one Connect Response frame says about the offered method. Fills
// `findings.server_version` and `findings.certificate` when they are still unknown.
MethodResult interpret_connect_response(uint32_t offered, rdp::ByteView frame,
                                        RdpSecurityFindings& findings);

}  // namespace rdpbridge::probe

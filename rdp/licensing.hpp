// Licensing PDUs ([MS-RDPELE] 2.2.2, [MS-RDPBCGR] 2.2.1.12) only as far as a bridge must know
// them: recognising one by its preamble (hosts such as Server 2003 send a licensing PDU flagged
// only SEC_ENCRYPT, without SEC_LICENSE_PKT) and naming it for the log. The licensing exchange
// itself is end-to-end between client and host.
#pragma once

#include <optional>
#include <string>

#include "rdp/bytes.hpp"

namespace rdpbridge::rdp::licensing {

// The bMsgType name ("LICENSE_REQUEST", "ERROR_ALERT", ...) when `pdu` starts with a valid
// licensing preamble whose wMsgSize equals its size.
std::optional<std::string> message_name(ByteView pdu);

}  // namespace rdpbridge::rdp::licensing

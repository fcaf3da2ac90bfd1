#include "rdp/licensing.hpp"

namespace rdpbridge::rdp::licensing {

namespace {

const char* type_name(uint8_t type) {
    switch (type) {
        case 0x01:
            return "LICENSE_REQUEST";
        case 0x02:
            return "PLATFORM_CHALLENGE";
        case 0x03:
            return "NEW_LICENSE";
        case 0x04:
            return "UPGRADE_LICENSE";
        case 0x12:
            return "LICENSE_INFO";
        case 0x13:
            return "NEW_LICENSE_REQUEST";
        case 0x15:
            return "PLATFORM_CHALLENGE_RESPONSE";
        case 0xFF:
            return "ERROR_ALERT";
        default:
            return nullptr;
    }
}

}  // namespace

std::optional<std::string> message_name(ByteView pdu) {
    if (pdu.size() < 4) return std::nullopt;
    const char* name = type_name(pdu[0]);
    const uint8_t version = pdu[1] & 0x0F;  // PREAMBLE_VERSION_2_0 or _3_0
    const std::size_t size = std::size_t(pdu[2]) | std::size_t(pdu[3]) << 8;
    if (!name || (version != 2 && version != 3) || size != pdu.size()) return std::nullopt;
    return std::string(name);
}

}  // namespace rdpbridge::rdp::licensing

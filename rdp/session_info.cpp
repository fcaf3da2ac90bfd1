#include "rdp/session_info.hpp"

namespace rdpbridge::rdp::session_info {

namespace {

constexpr uint16_t kPduTypeData = 0x7;
constexpr uint8_t kSaveSessionInfo = 0x26;
constexpr uint32_t kInfoTypeLogonExtended = 3;
constexpr uint32_t kFieldAutoReconnectCookie = 0x1;
constexpr std::size_t kShareControlHeader = 6;
constexpr std::size_t kShareDataHeader = 12;
constexpr std::size_t kInfoType = kShareControlHeader + kShareDataHeader;
constexpr std::size_t kLogonExtended = kInfoType + 4;  // Length (2), FieldsPresent (4)
constexpr uint8_t kPacketCompressed = 0x20;

uint16_t u16(const Bytes& b, std::size_t at) {
    return uint16_t(b[at] | b[at + 1] << 8);
}
void put16(Bytes& b, std::size_t at, std::size_t v) {
    b[at] = uint8_t(v);
    b[at + 1] = uint8_t(v >> 8);
}

}  // namespace

bool strip_autoreconnect_cookie(Bytes& pdu) {
    if (pdu.size() < kLogonExtended + 6 + 4) return false;
    if ((u16(pdu, 2) & 0x0F) != kPduTypeData) return false;
    if (pdu[kShareControlHeader + 8] != kSaveSessionInfo) return false;
    if (pdu[kShareControlHeader + 9] & kPacketCompressed) return false;  // cannot look inside
    if (load_u32le(&pdu[kInfoType]) != kInfoTypeLogonExtended) return false;
    const uint32_t fields = load_u32le(&pdu[kLogonExtended + 2]);
    if (!(fields & kFieldAutoReconnectCookie)) return false;
    // The cookie is the first field: cbFieldData (4) then the ARC_SC_PRIVATE_PACKET.
    const std::size_t field = kLogonExtended + 6;
    const std::size_t size = load_u32le(&pdu[field]);
    if (field + 4 + size > pdu.size()) return false;
    pdu.erase(pdu.begin() + long(field), pdu.begin() + long(field + 4 + size));
    store_u32le(&pdu[kLogonExtended + 2], fields & ~kFieldAutoReconnectCookie);
    // Every enclosing length shrinks by what was removed, whatever convention the host used.
    const std::size_t removed = 4 + size;
    put16(pdu, kLogonExtended, u16(pdu, kLogonExtended) - removed);
    put16(pdu, 0, u16(pdu, 0) - removed);  // totalLength
    put16(pdu, kShareControlHeader + 6, u16(pdu, kShareControlHeader + 6) - removed);
    return true;
}

}  // namespace rdpbridge::rdp::session_info

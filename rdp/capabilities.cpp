#include "rdp/capabilities.hpp"

namespace rdpbridge::rdp::caps {

namespace {
constexpr uint16_t kPduTypeDemandActive = 0x1;
constexpr std::size_t kShareControlHeader = 6;
}  // namespace

bool is_demand_active(ByteView share_control) {
    return share_control.size() >= kShareControlHeader &&
           (share_control[2] & 0x0F) == kPduTypeDemandActive;
}

Result<bool> refuse_client_channel_compression(Bytes& share_control) {
    Reader r(share_control);
    if (auto s = r.skip(kShareControlHeader + 4, "demand_active.share_id"); !s) return s.error();
    auto source = r.u16le("demand_active.length_source_descriptor");
    if (!source) return source.error();
    if (auto s = r.skip(2, "demand_active.length_combined_capabilities"); !s) return s.error();
    if (auto s = r.skip(*source, "demand_active.source_descriptor"); !s) return s.error();
    auto count = r.u16le("demand_active.number_capabilities");
    if (!count) return count.error();
    if (auto s = r.skip(2, "demand_active.pad2octets"); !s) return s.error();
    for (uint16_t i = 0; i < *count; ++i) {
        const std::size_t start = r.position();
        auto type = r.u16le("demand_active.capability_set.type");
        if (!type) return type.error();
        auto length = r.u16le("demand_active.capability_set.length");
        if (!length) return length.error();
        if (*length < 4)
            return Error{"demand_active.capability_set.length",
                         std::to_string(*length) + " is shorter than its header"};
        if (auto s = r.skip(*length - 4u, "demand_active.capability_set.data"); !s)
            return s.error();
        if (*type != kVirtualChannel || *length < 8) continue;
        uint8_t* flags = share_control.data() + start + 4;
        const uint32_t value = load_u32le(flags);
        if (!(value & kCompressCs8k)) return false;
        store_u32le(flags, value & ~kCompressCs8k);
        return true;
    }
    return false;
}

}  // namespace rdpbridge::rdp::caps

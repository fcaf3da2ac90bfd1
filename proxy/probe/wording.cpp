#include "proxy/probe/wording.hpp"

namespace rdpbridge::probe {

namespace {

constexpr uint32_t kRdp40 = 0x00080001;
constexpr uint32_t kRdp50 = 0x00080004;
constexpr uint32_t kRdp100 = 0x00080005;
constexpr uint32_t kRdpLatestKnown = 0x00080011;  // RDP 10.12

}  // namespace

std::string target_text(const Target& t) {
    const bool v6 = t.host.find(':') != std::string::npos;
    return (v6 ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
}

std::string answer_text(const LayerResult& l) {
    switch (l.answer) {
        case LayerAnswer::selected:
            return "SUCCESS: " + rdp::protocols_to_string(l.selected);
        case LayerAnswer::failure:
            return "RDP_NEG_FAILURE " + rdp::to_string(*l.failure);
        case LayerAnswer::no_negotiation:
            return "answers without negotiation (pre-RDP-5.2 host)";
        case LayerAnswer::no_answer:
            return "no answer (" + l.detail + ")";
        case LayerAnswer::closed:
            return "closed (" + l.detail + ")";
        case LayerAnswer::other_pdu:
            return l.detail;
    }
    return l.detail;
}

std::vector<std::string> neg_flag_names(uint8_t flags) {
    namespace f = rdp::neg_rsp_flags;
    const std::pair<uint8_t, const char*> names[] = {
        {f::extended_client_data_supported, "EXTENDED_CLIENT_DATA_SUPPORTED"},
        {f::dynvc_gfx_protocol_supported, "DYNVC_GFX_PROTOCOL_SUPPORTED"},
        {0x04, "NEGRSP_FLAG_RESERVED"},
        {f::restricted_admin_mode_supported, "RESTRICTED_ADMIN_MODE_SUPPORTED"},
        {f::redirected_authentication_mode_supported, "REDIRECTED_AUTHENTICATION_MODE_SUPPORTED"},
    };
    std::vector<std::string> out;
    for (const auto& [bit, name] : names)
        if (flags & bit) out.emplace_back(name);
    return out;
}

std::string rdp_version_text(uint32_t version) {
    if (version == kRdp40) return "RDP 4.0";
    if (version == kRdp50) return "RDP 5.0 to 8.1";
    if (version >= kRdp100 && version <= kRdpLatestKnown)
        return "RDP 10." + std::to_string(version - kRdp100);
    return rdp::hex32(version);
}

std::string colon_hex(const std::string& hex) {
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        if (!out.empty()) out += ':';
        out.append(hex, i, 2);
    }
    return out;
}

std::string one_line(const Findings& f) {
    const std::string what = f.reach == Reach::unreachable ? "unreachable" : "not RDP";
    const std::string target = target_text(f.target);
    if (!f.unreachable) return target + ": " + what;
    // Connect failures name the endpoint themselves; once on the line is enough.
    std::string_view detail = f.unreachable->detail;
    for (const std::string& prefix :
         {target + ": ", f.address + ":" + std::to_string(f.target.port) + ": "})
        if (detail.starts_with(prefix)) detail.remove_prefix(prefix.size());
    return target + ": " + what + " (" + std::string(rdp::describe(f.unreachable->cause).id) +
           "): " + std::string(detail);
}

}  // namespace rdpbridge::probe

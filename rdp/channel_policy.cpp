#include "rdp/channel_policy.hpp"

#include <algorithm>
#include <cctype>

namespace rdpbridge::rdp {

namespace {

bool listed(const std::vector<std::string>& names, std::string_view channel) {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return same_channel_name(n, channel); });
}

template <class T>
bool contains(const std::vector<T>& v, const T& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

bool same_channel_name(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    });
}

bool ChannelPolicy::passes(std::string_view channel) const {
    if (allow && !listed(*allow, channel)) return false;
    return !listed(deny, channel);
}

bool ChannelPolicy::passes_device(uint32_t type) const {
    if (allow_devices && !contains(*allow_devices, type)) return false;
    return !contains(deny_devices, type);
}

}  // namespace rdpbridge::rdp

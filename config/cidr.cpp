#include "config/cidr.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace rdpbridge::config {

std::optional<std::array<uint8_t, 16>> parse_address(std::string_view text) {
    std::string s(text);
    if (const auto zone = s.find('%'); zone != std::string::npos) s.resize(zone);
    std::array<uint8_t, 16> out{};
    in_addr v4{};
    if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        out[10] = out[11] = 0xff;
        std::memcpy(out.data() + 12, &v4, 4);
        return out;
    }
    if (::inet_pton(AF_INET6, s.c_str(), out.data()) == 1) return out;
    return std::nullopt;
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* why) {
    const auto fail = [why](std::string reason) -> std::optional<Cidr> {
        if (why) *why = std::move(reason);
        return std::nullopt;
    };
    const auto slash = text.find('/');
    const auto address = parse_address(text.substr(0, slash));
    if (!address) {
        std::string reason(text.substr(0, slash));
        reason.insert(0, 1, '"');
        reason.append("\" is not an IPv4 or IPv6 address");
        return fail(std::move(reason));
    }
    const bool v4 =
        address->at(10) == 0xff && address->at(11) == 0xff &&
        std::all_of(address->begin(), address->begin() + 10, [](uint8_t b) { return b == 0; });
    Cidr c{*address, 128, std::string(text)};
    if (slash != std::string_view::npos) {
        const auto bits = text.substr(slash + 1);
        int n = -1;
        const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
        const int max = v4 ? 32 : 128;
        if (ec != std::errc() || end != bits.data() + bits.size() || n < 0 || n > max) {
            std::string reason("prefix \"/");
            reason.append(bits).append("\" must be 0..").append(std::to_string(max));
            return fail(std::move(reason));
        }
        c.prefix = v4 ? 96 + n : n;
    }
    // Keep only the network part, so "192.0.2.7/24" means 192.0.2.0/24.
    for (int bit = c.prefix; bit < 128; ++bit) c.address[bit / 8] &= uint8_t(~(0x80 >> (bit % 8)));
    return c;
}

bool Cidr::contains(const std::array<uint8_t, 16>& a) const {
    for (int bit = 0; bit < prefix; ++bit) {
        const uint8_t mask = uint8_t(0x80 >> (bit % 8));
        if ((a[bit / 8] & mask) != (address[bit / 8] & mask)) return false;
    }
    return true;
}

bool permitted(const std::vector<Cidr>& allow, const std::vector<Cidr>& deny,
               const std::array<uint8_t, 16>& address) {
    for (const auto& c : deny)
        if (c.contains(address)) return false;
    if (allow.empty()) return true;
    for (const auto& c : allow)
        if (c.contains(address)) return true;
    return false;
}

}  // namespace rdpbridge::config

#include "rdp/proxy_header.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <string_view>
#include <vector>

namespace rdpbridge::rdp {

namespace {

constexpr std::array<uint8_t, 12> kV2Signature{0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                               0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
constexpr std::string_view kV1Prefix = "PROXY ";
constexpr std::size_t kV1Max = 107;  // "PROXY TCP6 " + two full IPv6 addresses, ports, CRLF
constexpr std::size_t kV1Min = 15;   // "PROXY UNKNOWN\r\n"
constexpr std::size_t kV2Fixed = 16;

bool starts_like_v2(ByteView got) {
    const std::size_t n = std::min(got.size(), kV2Signature.size());
    return std::equal(got.begin(), got.begin() + std::ptrdiff_t(n), kV2Signature.begin());
}

bool starts_like_v1(ByteView got) {
    const std::size_t n = std::min(got.size(), kV1Prefix.size());
    return std::equal(got.begin(), got.begin() + std::ptrdiff_t(n), kV1Prefix.begin());
}

// g++ 12 warns (-Wrestrict, wrongly) on "\"" + std::string(...): appended instead.
std::string quoted(std::string_view s) {
    std::string out = "\"";
    out.append(s).append("\"");
    return out;
}

std::string_view as_text(ByteView b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

std::vector<std::string_view> split(std::string_view s) {
    std::vector<std::string_view> out;
    while (!s.empty()) {
        const auto space = s.find(' ');
        out.push_back(s.substr(0, space));
        if (space == std::string_view::npos) break;
        s.remove_prefix(space + 1);
    }
    return out;
}

Result<uint16_t> port_of(std::string_view text, const char* field) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > 65535 ||
        (text.size() > 1 && text[0] == '0'))
        return Error{field, quoted(text).append(" is not a port (0..65535)")};
    return uint16_t(value);
}

// An address as v1 writes it: dotted IPv4 for TCP4, RFC 4291 text for TCP6. Only the characters
// each form allows: the value ends up in logs and in per-source keys.
bool address_text_ok(std::string_view text, bool v6) {
    if (text.empty() || text.size() > 45) return false;
    return std::all_of(text.begin(), text.end(), [v6](char c) {
        return (c >= '0' && c <= '9') || c == '.' ||
               (v6 && (c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
    });
}

Result<ProxyHeader> decode_v1(ByteView header) {
    std::string_view line = as_text(header);
    if (line.size() < 2 || line.substr(line.size() - 2) != "\r\n")
        return Error{"proxy_v1", "the line does not end with CRLF"};
    line.remove_suffix(2);
    const auto f = split(line);
    ProxyHeader h;
    h.version = 1;
    h.length = header.size();
    if (f.size() >= 2 && f[0] == "PROXY" && f[1] == "UNKNOWN") return h;  // the rest is ignored
    if (f.size() != 6 || f[0] != "PROXY")
        return Error{"proxy_v1", "expected \"PROXY TCP4|TCP6 SRC DST SPORT DPORT\""};
    if (f[1] != "TCP4" && f[1] != "TCP6")
        return Error{"proxy_v1.protocol", quoted(f[1]).append(" is not TCP4, TCP6 or UNKNOWN")};
    const bool v6 = f[1] == "TCP6";
    if (!address_text_ok(f[2], v6) || !address_text_ok(f[3], v6))
        return Error{"proxy_v1.address",
                     "not an " + std::string(v6 ? "IPv6" : "IPv4") + " address"};
    auto sport = port_of(f[4], "proxy_v1.source_port");
    if (!sport) return sport.error();
    if (auto dport = port_of(f[5], "proxy_v1.destination_port"); !dport) return dport.error();
    h.source_address = std::string(f[2]);
    h.source_port = *sport;
    return h;
}

std::string ipv4_text(ByteView a) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
    return buf;
}

// RFC 5952's form, with the longest run of zero groups shortened to "::".
std::string ipv6_text(ByteView a) {
    uint16_t g[8];
    for (int i = 0; i < 8; ++i)
        g[i] = uint16_t(unsigned(a[std::size_t(2) * std::size_t(i)]) << 8 |
                        a[std::size_t(2) * std::size_t(i) + 1]);
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0) ++j;
        if (j - i > best_len && j - i >= 2) best = i, best_len = j - i;
        i = j == i ? i + 1 : j;
    }
    std::string out;
    char buf[8];
    for (int i = 0; i < 8; ++i) {
        if (i == best) {
            out += "::";
            i += best_len - 1;
            continue;
        }
        if (!out.empty() && out.back() != ':') out += ':';
        std::snprintf(buf, sizeof buf, "%x", g[i]);
        out += buf;
    }
    return out;
}

Result<ProxyHeader> decode_v2(ByteView header) {
    Reader r(header);
    if (auto s = r.skip(kV2Signature.size(), "proxy_v2.signature"); !s) return s.error();
    auto ver_cmd = r.u8("proxy_v2.version_command");
    auto family = r.u8("proxy_v2.family");
    auto length = r.u16be("proxy_v2.length");
    if (!ver_cmd) return ver_cmd.error();
    if (!family) return family.error();
    if (!length) return length.error();
    if ((*ver_cmd >> 4) != 2)
        return Error{"proxy_v2.version", "expected 2, got " + std::to_string(*ver_cmd >> 4)};
    const int command = *ver_cmd & 0x0F;
    if (command > 1)
        return Error{"proxy_v2.command",
                     "expected LOCAL (0) or PROXY (1), got " + std::to_string(command)};
    if (header.size() != kV2Fixed + *length)
        return Error{"proxy_v2.length", "says " + std::to_string(*length) + ", header has " +
                                            std::to_string(header.size() - kV2Fixed)};
    ProxyHeader h;
    h.version = 2;
    h.length = header.size();
    if (command == 0) return h;  // LOCAL: the balancer's own connection
    const int af = *family >> 4, proto = *family & 0x0F;
    if (af == 0) return h;  // AF_UNSPEC: unknown origin, as v1's UNKNOWN
    if (proto != 1)
        return Error{"proxy_v2.protocol", "expected STREAM (1), got " + std::to_string(proto)};
    if (af == 1) {
        auto src = r.bytes(4, "proxy_v2.ipv4.source");
        if (!src) return src.error();
        if (auto dst = r.bytes(4, "proxy_v2.ipv4.destination"); !dst) return dst.error();
        auto sport = r.u16be("proxy_v2.ipv4.source_port");
        if (!sport) return sport.error();
        h.source_address = ipv4_text(*src);
        h.source_port = *sport;
        return h;
    }
    if (af == 2) {
        auto src = r.bytes(16, "proxy_v2.ipv6.source");
        if (!src) return src.error();
        if (auto dst = r.bytes(16, "proxy_v2.ipv6.destination"); !dst) return dst.error();
        auto sport = r.u16be("proxy_v2.ipv6.source_port");
        if (!sport) return sport.error();
        h.source_address = ipv6_text(*src);
        h.source_port = *sport;
        return h;
    }
    return Error{"proxy_v2.family", "expected INET (1) or INET6 (2), got " + std::to_string(af)};
}

}  // namespace

Result<std::size_t> proxy_header_needs(ByteView got) {
    // The shortest header of either version first (v1's 15 bytes; v2 has 16): the two differ
    // from the first byte on.
    if (got.size() < kV1Min && (starts_like_v1(got) || starts_like_v2(got)))
        return kV1Min - got.size();
    if (starts_like_v2(got)) {
        if (got.size() < kV2Fixed) return kV2Fixed - got.size();
        const std::size_t total = kV2Fixed + (std::size_t(got[14]) << 8 | got[15]);
        if (total > kMaxProxyHeader)
            return Error{"proxy_v2.length", std::to_string(total - kV2Fixed) +
                                                " bytes of addresses and TLVs; at most " +
                                                std::to_string(kMaxProxyHeader - kV2Fixed)};
        if (got.size() > total) return Error{"proxy_v2", "more bytes than the header holds"};
        return total - got.size();
    }
    if (starts_like_v1(got)) {
        const auto text = as_text(got);
        const auto crlf = text.find("\r\n");
        if (crlf != std::string_view::npos) {
            if (crlf + 2 != text.size()) return Error{"proxy_v1", "bytes after the CRLF"};
            return std::size_t(0);
        }
        if (got.size() >= kV1Max)
            return Error{"proxy_v1", "no CRLF within " + std::to_string(kV1Max) + " bytes"};
        return std::size_t(1);  // byte by byte: the line's end is only known when it comes
    }
    return Error{"proxy_header",
                 "expected a PROXY protocol header (v1 \"PROXY \" or the v2 "
                 "signature), got 0x" +
                     hex(got.first(std::min<std::size_t>(got.size(), 8)))};
}

Result<ProxyHeader> decode_proxy_header(ByteView header) {
    auto needs = proxy_header_needs(header);
    if (!needs) return needs.error();
    if (*needs != 0)
        return Error{"proxy_header",
                     "incomplete: " + std::to_string(*needs) + " more byte(s) needed"};
    return starts_like_v2(header) ? decode_v2(header) : decode_v1(header);
}

}  // namespace rdpbridge::rdp

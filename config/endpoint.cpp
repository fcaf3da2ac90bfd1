#include "config/endpoint.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <system_error>

#include "config/cidr.hpp"
#include "config/wording.hpp"

namespace rdpbridge::config {

std::optional<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port) {
    const auto is_ipv6 = [](std::string_view host) {
        const std::string address(host.substr(0, host.find('%')));  // drop a zone: fe80::1%eth0
        in6_addr unused;
        return inet_pton(AF_INET6, address.c_str(), &unused) == 1;
    };
    const auto is_host = [](std::string_view host) {
        return !host.empty() && host.size() <= 253 &&
               std::all_of(host.begin(), host.end(), [](unsigned char c) {
                   return std::isalnum(c) || c == '.' || c == '-' || c == '_';
               });
    };
    std::string_view host = text;
    std::optional<std::string_view> port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            port_text = rest.substr(1);
        }
        if (!is_ipv6(host)) return std::nullopt;
    } else if (std::count(text.begin(), text.end(), ':') > 1) {
        if (!is_ipv6(host)) return std::nullopt;  // unbracketed IPv6 cannot carry a port
    } else if (const auto colon = text.find(':'); colon != std::string_view::npos) {
        host = text.substr(0, colon);
        port_text = text.substr(colon + 1);
        if (!is_host(host)) return std::nullopt;
    } else if (!is_host(host)) {
        return std::nullopt;
    }

    Endpoint ep{std::string(host), default_port};
    if (port_text) {
        unsigned port = 0;
        const char* end = port_text->data() + port_text->size();
        const auto [rest, ec] = std::from_chars(port_text->data(), end, port);
        if (port_text->empty() || ec != std::errc() || rest != end || port > 65535) {
            return std::nullopt;
        }
        ep.port = static_cast<uint16_t>(port);
    }
    return ep;
}

std::optional<std::string> check_endpoint(std::string_view text, bool port_zero_ok, Endpoint& out) {
    const auto ep = parse_endpoint(text, 3389);
    if (!ep) {
        return in_quotes(text) +
               " is not an endpoint; write HOST, HOST:PORT, [IPV6]:PORT or a bare IPv6 address "
               "(the port defaults to 3389), e.g. \"192.0.2.7:3389\"";
    }
    if (ep->port == 0 && !port_zero_ok) {
        return in_quotes(text) +
               " has port 0, which cannot be connected to; give the host's RDP "
               "port (usually 3389)";
    }
    out = *ep;
    return std::nullopt;
}

std::string to_string(const Endpoint& e) {
    return (e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host) + ":" +
           std::to_string(e.port);
}

bool is_loopback(const Endpoint& e) {
    const auto address = parse_address(e.host);
    if (!address) return false;
    static const Cidr v4 = *parse_cidr("127.0.0.0/8");
    static const Cidr v6 = *parse_cidr("::1");
    return v4.contains(*address) || v6.contains(*address);
}

}  // namespace rdpbridge::config

// Address ranges for listener access control (`allow`/`deny`): "192.0.2.0/24", "2001:db8::/32",
// or a single address. Pure: parsing and matching need no TOML and no sockets.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rdpbridge::config {

struct Cidr {
    std::array<uint8_t, 16> address{};  // IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d)
    int prefix = 128;                   // in IPv6 bits (an IPv4 /24 is 96 + 24)
    std::string text;                   // as written, for messages

    bool contains(const std::array<uint8_t, 16>& a) const;
    bool operator==(const Cidr&) const = default;
};

// nullopt and a reason when `text` is not an address or range.
std::optional<Cidr> parse_cidr(std::string_view text, std::string* why = nullptr);
// An address as the kernel reports it ("192.0.2.7", "::ffff:192.0.2.7", "2001:db8::1"), in
// the same 16-byte form; nullopt if it does not parse.
std::optional<std::array<uint8_t, 16>> parse_address(std::string_view text);

// deny wins; with a non-empty allow list only what it contains gets in.
bool permitted(const std::vector<Cidr>& allow, const std::vector<Cidr>& deny,
               const std::array<uint8_t, 16>& address);

}  // namespace rdpbridge::config

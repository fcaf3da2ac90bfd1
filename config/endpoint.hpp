// HOST:PORT as the config and the command line write it. Shared by the TOML reader, the
// quick-start flags and `rdpbridge probe`, none of which should need TOML to read an address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace rdpbridge::config {

// Accepts "host", "host:port", "[v6]", "[v6]:port" and a bare IPv6 literal ("fe80::1"). The port
// must be 0..65535 (0 is left for the caller to judge). Returns nullopt on anything else.
std::optional<Endpoint> parse_endpoint(std::string_view text, uint16_t default_port);

// parse_endpoint with port 3389 by default, the problem worded for an operator; nothing when
// `out` was set. Port 0 is refused unless `port_zero_ok` (a listener may let the OS choose).
std::optional<std::string> check_endpoint(std::string_view text, bool port_zero_ok, Endpoint& out);

// "host:port", "[v6]:port": as an operator writes it back.
std::string to_string(const Endpoint& e);

// A literal loopback address (127.0.0.0/8, ::1, or 127/8 mapped into IPv6). A name is not: what
// it resolves to is up to the resolver at start, and "localhost" may be anything in /etc/hosts.
bool is_loopback(const Endpoint& e);

}  // namespace rdpbridge::config

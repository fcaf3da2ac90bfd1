// The PROXY protocol header (HAProxy's PROXY protocol, versions 1 and 2) that a load balancer
// puts before the client's bytes, so that the gateway sees the client's own address. Read
// incrementally: the caller asks how many more bytes the header needs and reads exactly those,
// so that not one byte of the client's X.224 request is taken with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rdp/bytes.hpp"
#include "rdp/error.hpp"

namespace rdpbridge::rdp {

// The longest header this reader accepts: a v1 line (107 bytes) or a v2 header with its
// addresses and TLVs, within what one balancer sends (v2 allows 64 KiB of TLVs; we take 4 KiB).
inline constexpr std::size_t kMaxProxyHeader = 16 + 4096;

struct ProxyHeader {
    // The connection's original source; nullopt for LOCAL (v2) and UNKNOWN (v1): the balancer's
    // own health check, to be treated as coming from the balancer itself.
    std::optional<std::string> source_address;  // "192.0.2.7", "2001:db8::7"
    uint16_t source_port = 0;
    int version = 0;         // 1 or 2
    std::size_t length = 0;  // of the whole header, in bytes
};

// How many more bytes `got` (the connection's first bytes, all header so far) needs before the
// header is complete: 0 once it is. An Error when `got` cannot start a PROXY header or exceeds
// kMaxProxyHeader.
Result<std::size_t> proxy_header_needs(ByteView got);

// Decodes a complete header (proxy_header_needs returned 0).
Result<ProxyHeader> decode_proxy_header(ByteView header);

}  // namespace rdpbridge::rdp

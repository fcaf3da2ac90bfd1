// PROXY protocol headers (proxy_header_needs, decode_proxy_header), read as the gateway reads
// them: bytes taken only as proxy_header_needs asks.
//
// Input: the first bytes of a connection on a PROXY listener.
// Oracles: reading never asks past kMaxProxyHeader nor for 0 bytes before the header is whole;
// what decodes has its own length; an address that decodes is only digits, dots, colons and hex.
#include <algorithm>
#include <cctype>
#include <string>

#include "rdp/proxy_header.hpp"
#include "tests/fuzz/harness.hpp"

using namespace rdpbridge::rdp;

RDPBRIDGE_FUZZ_TARGET(fuzz_proxy_header) {
    Bytes got;
    for (;;) {
        auto needs = proxy_header_needs(got);
        if (!needs) return;
        FUZZ_CHECK(got.size() + *needs <= kMaxProxyHeader, "asked past kMaxProxyHeader");
        if (*needs == 0) break;
        if (got.size() + *needs > input.size()) return;  // the peer would still be sending
        got.insert(got.end(), input.begin() + std::ptrdiff_t(got.size()),
                   input.begin() + std::ptrdiff_t(got.size() + *needs));
    }
    auto h = decode_proxy_header(got);
    if (!h) return;
    FUZZ_CHECK(h->length == got.size(), "length differs from the bytes read");
    if (h->source_address) {
        const auto& a = *h->source_address;
        FUZZ_CHECK(
            !a.empty() && std::all_of(a.begin(), a.end(),
                                      [](char c) {
                                          return std::isxdigit(static_cast<unsigned char>(c)) ||
                                                 c == '.' || c == ':';
                                      }),
            "an address with other characters: " + a);
    }
}

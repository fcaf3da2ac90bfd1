// PROXY protocol headers (rdp/proxy_header.hpp), on the bytes Debian's HAProxy 2.6 sends
// (tests/fixtures/proxy/, captured by tests/lab/capture_proxy_headers.py).
#include "rdp/proxy_header.hpp"

#include <gtest/gtest.h>

#include <string>

#include "fixtures.hpp"

using namespace rdpbridge::rdp;
using rdpbridge::test::fixture;

namespace {

Bytes text(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

// Reads as the gateway does: only as many bytes as proxy_header_needs asks for, from a stream
// where the client's X.224 request follows the header. Returns how many bytes were taken.
std::size_t read_like_the_gateway(const Bytes& stream) {
    Bytes got;
    for (;;) {
        auto needs = proxy_header_needs(got);
        EXPECT_TRUE(needs.ok()) << needs.error().message();
        if (!needs || *needs == 0) return got.size();
        EXPECT_LE(got.size() + *needs, stream.size());
        got.insert(got.end(), stream.begin() + std::ptrdiff_t(got.size()),
                   stream.begin() + std::ptrdiff_t(got.size() + *needs));
    }
}

}  // namespace

TEST(ProxyHeader, HaproxyV1AndV2FromIpv4AndIpv6Clients) {
    const Bytes x224 = fixture("x224_cr_freerdp_tls.bin");
    for (const auto& [name, version, address] :
         {std::tuple{"proxy/proxy_v1_haproxy.bin", 1, "127.0.0.1"},
          std::tuple{"proxy/proxy_v2_haproxy.bin", 2, "127.0.0.1"},
          std::tuple{"proxy/proxy_v1_ipv6_haproxy.bin", 1, "::1"},
          std::tuple{"proxy/proxy_v2_ipv6_haproxy.bin", 2, "::1"}}) {
        SCOPED_TRACE(name);
        const Bytes header = fixture(name);
        Bytes stream = header;
        stream.insert(stream.end(), x224.begin(), x224.end());
        // Not one byte of the X.224 request is taken with the header.
        EXPECT_EQ(read_like_the_gateway(stream), header.size());
        auto h = decode_proxy_header(header);
        ASSERT_TRUE(h.ok()) << h.error().message();
        EXPECT_EQ(h->version, version);
        EXPECT_EQ(h->source_address, std::optional<std::string>(address));
        EXPECT_NE(h->source_port, 0);
        EXPECT_EQ(h->length, header.size());
    }
}

TEST(ProxyHeader, LocalAndUnknownMeanTheBalancerItself) {
    auto unknown = decode_proxy_header(text("PROXY UNKNOWN\r\n"));
    ASSERT_TRUE(unknown.ok());
    EXPECT_FALSE(unknown->source_address);
    Bytes local = fixture("proxy/proxy_v2_haproxy.bin");
    local[12] = 0x20;  // version 2, command LOCAL
    auto l = decode_proxy_header(local);
    ASSERT_TRUE(l.ok()) << l.error().message();
    EXPECT_FALSE(l->source_address);
}

TEST(ProxyHeader, ErrorsNameTheField) {
    const auto error = [](const Bytes& b) {
        auto h = decode_proxy_header(b);
        return h.ok() ? std::string("(decoded)") : h.error().message();
    };
    // A client that speaks RDP straight away: no header at all.
    EXPECT_EQ(error(fixture("x224_cr_freerdp_tls.bin")).rfind("proxy_header: expected a PROXY", 0),
              0u);
    EXPECT_EQ(
        error(text("PROXY TCP4 1.2.3.4 5.6.7.8 70000 3389\r\n")).rfind("proxy_v1.source_port", 0),
        0u);
    EXPECT_EQ(error(text("PROXY TCP4 1.2.3.4\x1b[2J 5.6.7.8 1 2\r\n")).rfind("proxy_v1.address", 0),
              0u);
    EXPECT_EQ(error(text("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n")).rfind("proxy_v1.protocol", 0), 0u);
    EXPECT_EQ(error(text("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")).rfind("proxy_v1:", 0), 0u);
    Bytes v3 = fixture("proxy/proxy_v2_haproxy.bin");
    v3[12] = 0x31;
    EXPECT_EQ(error(v3).rfind("proxy_v2.version", 0), 0u);
    Bytes udp = fixture("proxy/proxy_v2_haproxy.bin");
    udp[13] = 0x12;
    EXPECT_EQ(error(udp).rfind("proxy_v2.protocol", 0), 0u);
}

TEST(ProxyHeader, BoundedWhateverComes) {
    // A v1 line without its CRLF is refused at 107 bytes.
    Bytes endless = text("PROXY TCP4 ");
    endless.resize(107, '1');
    EXPECT_FALSE(proxy_header_needs(endless).ok());
    // A v2 header announcing more than 4 KiB of addresses and TLVs is refused from its length.
    Bytes huge = fixture("proxy/proxy_v2_haproxy.bin");
    huge.resize(16);
    huge[14] = 0xFF;
    huge[15] = 0xFF;
    EXPECT_FALSE(proxy_header_needs(huge).ok());
    // Fewer than 15 bytes: ask for the rest of the shortest header, never more.
    EXPECT_EQ(*proxy_header_needs(Bytes{}), 15u);
    EXPECT_EQ(*proxy_header_needs(text("PROX")), 11u);
}

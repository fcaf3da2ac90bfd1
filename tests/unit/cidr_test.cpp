#include "config/cidr.hpp"

#include <gtest/gtest.h>

#include "config/load.hpp"

using namespace rdpbridge::config;

namespace {

std::array<uint8_t, 16> addr(const char* text) {
    auto a = parse_address(text);
    EXPECT_TRUE(a) << text;
    return a.value_or(std::array<uint8_t, 16>{});
}

Cidr cidr(const char* text) {
    std::string why;
    auto c = parse_cidr(text, &why);
    EXPECT_TRUE(c) << text << ": " << why;
    return c.value_or(Cidr{});
}

}  // namespace

TEST(Cidr, Ipv4RangesAndSingleAddresses) {
    const auto net = cidr("192.0.2.7/24");  // host bits dropped: 192.0.2.0/24
    EXPECT_TRUE(net.contains(addr("192.0.2.200")));
    EXPECT_FALSE(net.contains(addr("192.0.3.1")));
    const auto one = cidr("127.0.0.1");
    EXPECT_TRUE(one.contains(addr("127.0.0.1")));
    EXPECT_FALSE(one.contains(addr("127.0.0.2")));
    EXPECT_TRUE(cidr("0.0.0.0/0").contains(addr("203.0.113.9")));
    EXPECT_FALSE(cidr("0.0.0.0/0").contains(addr("2001:db8::1")));
}

TEST(Cidr, Ipv4MappedSourcesMatchIpv4Ranges) {
    EXPECT_TRUE(cidr("192.0.2.0/24").contains(addr("::ffff:192.0.2.9")));
}

TEST(Cidr, Ipv6Ranges) {
    const auto net = cidr("2001:db8::/32");
    EXPECT_TRUE(net.contains(addr("2001:db8:ffff::1")));
    EXPECT_FALSE(net.contains(addr("2001:db9::1")));
    EXPECT_TRUE(cidr("fe80::/10").contains(addr("fe80::1%eth0")));
}

TEST(Cidr, BadTextSaysWhy) {
    std::string why;
    EXPECT_FALSE(parse_cidr("192.0.2.0/33", &why));
    EXPECT_NE(why.find("0..32"), std::string::npos) << why;
    EXPECT_FALSE(parse_cidr("2001:db8::/129", &why));
    EXPECT_NE(why.find("0..128"), std::string::npos) << why;
    EXPECT_FALSE(parse_cidr("plant.example", &why));
    EXPECT_NE(why.find("not an IPv4 or IPv6 address"), std::string::npos) << why;
    EXPECT_FALSE(parse_cidr("10.0.0.0/", &why));
}

TEST(Cidr, DenyWinsAndAllowIsExclusive) {
    const std::vector<Cidr> allow{cidr("127.0.0.0/8")};
    const std::vector<Cidr> deny{cidr("127.0.0.2")};
    EXPECT_TRUE(permitted(allow, deny, addr("127.0.0.1")));
    EXPECT_FALSE(permitted(allow, deny, addr("127.0.0.2")));
    EXPECT_FALSE(permitted(allow, deny, addr("192.0.2.1")));
    EXPECT_TRUE(permitted({}, deny, addr("192.0.2.1")));
    EXPECT_TRUE(permitted({}, {}, addr("192.0.2.1")));
}

TEST(Cidr, ConfigReadsListsAndPlacesErrors) {
    const char* base = R"([[listener]]
name = "main"
bind = "0.0.0.0"
default_backend = "host"
allow = ["192.0.2.0/24", "2001:db8::/32"]
deny = ["192.0.2.66", "nonsense/8"]
[[backend]]
name = "host"
address = "192.0.2.7"
)";
    auto r = parse(base, "t.toml");
    auto* errors = std::get_if<std::vector<LoadError>>(&r);
    ASSERT_TRUE(errors);
    ASSERT_EQ(errors->size(), 1u);
    EXPECT_EQ((*errors)[0].key, "listener[0].deny");
    EXPECT_EQ((*errors)[0].line, 6);
    EXPECT_NE((*errors)[0].message.find("\"nonsense\" is not an IPv4 or IPv6 address"),
              std::string::npos)
        << (*errors)[0].message;
}

#include "config/checks.hpp"

#include <gtest/gtest.h>

#include <string>

#include "config/endpoint.hpp"

using namespace rdpbridge::config;

TEST(Checks, ChoiceSetsTheValueOrSuggestsAndLists) {
    BackendSecurity security = BackendSecurity::automatic;
    EXPECT_FALSE(check_choice("rdp", kSecurityChoices, "a backend security mode", security));
    EXPECT_EQ(security, BackendSecurity::rdp);
    EXPECT_EQ(check_choice("tsl", kSecurityChoices, "a backend security mode", security),
              "\"tsl\" is not a backend security mode; did you mean \"tls\"? use one of \"auto\", "
              "\"tls\", \"rdp\"");
    EXPECT_EQ(security, BackendSecurity::rdp);
}

TEST(Checks, PinIsNormalisedToLowerCaseHex) {
    std::string written = "AB";
    std::string expected = "ab";
    for (int i = 0; i < 31; ++i) {
        written += ":Cd";
        expected += "cd";
    }
    std::string pin;
    EXPECT_FALSE(check_pin(written, pin));
    EXPECT_EQ(pin, expected);
    EXPECT_EQ(check_pin("zz", pin),
              "\"zz\" is not a SHA-256 pin: 'z' is not a hex digit; write 64 hex digits, ':' "
              "between byte pairs optional");
    EXPECT_EQ(check_pin("abcd", pin),
              "\"abcd\" is not a SHA-256 pin: it has 4 hex digits, a SHA-256 pin has 64 (32 "
              "bytes); ':' separators are optional");
}

TEST(Checks, ListenerNames) {
    EXPECT_TRUE(is_listener_name("main-1.a_b"));
    EXPECT_FALSE(is_listener_name(""));
    EXPECT_FALSE(is_listener_name("a b"));
    EXPECT_FALSE(is_listener_name("a/b"));
}

TEST(Checks, EndpointPortZeroOnlyWhereAllowed) {
    Endpoint ep;
    EXPECT_FALSE(check_endpoint("0.0.0.0:0", true, ep));
    EXPECT_EQ(ep.port, 0);
    EXPECT_EQ(check_endpoint("192.0.2.7:0", false, ep),
              "\"192.0.2.7:0\" has port 0, which cannot be connected to; give the host's RDP port "
              "(usually 3389)");
    EXPECT_EQ(check_endpoint("bad host", false, ep),
              "\"bad host\" is not an endpoint; write HOST, HOST:PORT, [IPV6]:PORT or a bare IPv6 "
              "address (the port defaults to 3389), e.g. \"192.0.2.7:3389\"");
    EXPECT_EQ(check_endpoint("rdp.example", false, ep), std::nullopt);
    EXPECT_EQ(ep, (Endpoint{"rdp.example", 3389}));
}

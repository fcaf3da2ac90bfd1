// Cookie routing (proxy/routing.cpp): which backend a client's mstshash cookie selects.
#include <gtest/gtest.h>

#include "config/config.hpp"
#include "proxy/routing.hpp"

using namespace rdpbridge;
using proxy::cookie_matches;
using proxy::pick_backend;

namespace {

config::Listener listener(std::string name, std::string default_backend) {
    config::Listener l;
    l.name = std::move(name);
    l.default_backend = std::move(default_backend);
    return l;
}

// A route's listener, mstshash and backend: config::Route has more members (its channel policy),
// which -Wmissing-field-initializers would want spelled out in every brace list.
struct RouteTo {
    std::string listener, mstshash, backend;
};

config::Config with_routes(const std::vector<RouteTo>& routes) {
    config::Config c;
    for (const RouteTo& r : routes) {
        config::Route route;
        route.listener = r.listener;
        route.mstshash = r.mstshash;
        route.backend = r.backend;
        c.routes.push_back(std::move(route));
    }
    return c;
}

TEST(CookieMatches, ExactIsCaseInsensitive) {
    EXPECT_TRUE(cookie_matches("Admin", "Admin"));
    EXPECT_TRUE(cookie_matches("Admin", "aDMIN"));
    EXPECT_FALSE(cookie_matches("Admin", "Admin2"));
    EXPECT_FALSE(cookie_matches("Admin", "Admi"));
    EXPECT_FALSE(cookie_matches("Admin", ""));
}

TEST(CookieMatches, TrailingStarMatchesAnySuffix) {
    EXPECT_TRUE(cookie_matches("plc-*", "plc-"));
    EXPECT_TRUE(cookie_matches("plc-*", "PLC-07"));
    EXPECT_FALSE(cookie_matches("plc-*", "plc"));
    EXPECT_FALSE(cookie_matches("plc-*", "xplc-07"));
    EXPECT_TRUE(cookie_matches("*", ""));
    EXPECT_TRUE(cookie_matches("*", "anyone"));
    // Only ASCII letters fold: no locale decides where a client goes.
    EXPECT_FALSE(cookie_matches("\xc3\xa9*", "\xc3\x89"));
}

TEST(PickBackend, FirstMatchingRouteWins) {
    const auto c = with_routes({{"", "plc-7*", "special"}, {"", "plc-*", "plant"}});
    const auto l = listener("main", "office");
    EXPECT_EQ(pick_backend(c, l, "plc-70"), "special");
    EXPECT_EQ(pick_backend(c, l, "PLC-1"), "plant");
    EXPECT_EQ(pick_backend(c, l, "Admin"), "office");  // no route: the listener's default
}

TEST(PickBackend, ListenerSpecificRoutesApplyToTheirListenerOnly) {
    const auto c = with_routes({{"floor", "plc-*", "plant"}, {"", "admin", "office"}});
    const auto floor = listener("floor", "");
    const auto main = listener("main", "office-default");
    EXPECT_EQ(pick_backend(c, floor, "plc-1"), "plant");
    EXPECT_EQ(pick_backend(c, main, "plc-1"), "office-default");
    EXPECT_EQ(pick_backend(c, floor, "ADMIN"), "office");  // a route for every listener
    EXPECT_EQ(pick_backend(c, main, "admin"), "office");
}

TEST(PickBackend, NoCookieTakesTheDefault) {
    const auto c = with_routes({{"", "*", "catch-all"}});
    EXPECT_EQ(pick_backend(c, listener("main", "office"), std::nullopt), "office");
    // A present but empty cookie is a cookie: '*' matches it.
    EXPECT_EQ(pick_backend(c, listener("main", "office"), ""), "catch-all");
}

TEST(PickBackend, NoRouteAndNoDefaultIsNoBackend) {
    const auto c = with_routes({{"", "plc-*", "plant"}});
    EXPECT_EQ(pick_backend(c, listener("main", ""), "Admin"), std::nullopt);
    EXPECT_EQ(pick_backend(c, listener("main", ""), std::nullopt), std::nullopt);
    EXPECT_EQ(pick_backend(with_routes({}), listener("main", ""), "plc-1"), std::nullopt);
}

}  // namespace

// The registry a drain and a stop close sessions through (proxy/gateway_state.hpp).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "proxy/gateway_state.hpp"

using rdpbridge::proxy::SessionRegistry;

TEST(SessionRegistry, ADrainClosesHandshakesAndLeavesEstablishedSessions) {
    SessionRegistry registry;
    std::vector<int> closed;
    auto handshake = registry.add([&] { closed.push_back(1); });
    auto session = registry.add([&] { closed.push_back(2); });
    session.established();
    EXPECT_EQ(registry.size(), 2u);
    EXPECT_EQ(registry.established(), 1u);
    registry.close_all(/*handshakes_only=*/true);
    EXPECT_EQ(closed, std::vector<int>({1}));
    registry.close_all();
    EXPECT_EQ(closed, std::vector<int>({1, 1, 2}));
}

TEST(SessionRegistry, AnEntryGoesWithItsSessionEvenDuringCloseAll) {
    SessionRegistry registry;
    std::optional<SessionRegistry::Registration> second;
    int calls = 0;
    auto first = registry.add([&] {
        ++calls;
        second.reset();  // closing one session ends another: its closer must not run
    });
    second.emplace(registry.add([&] { calls += 100; }));
    registry.close_all();
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(registry.size(), 1u);
}

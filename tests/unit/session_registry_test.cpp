// The registry a drain and a stop close sessions through (proxy/gateway_state.hpp).
#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "proxy/asio.hpp"
#include "proxy/gateway_state.hpp"

using rdpbridge::proxy::SessionRegistry;
namespace asio = rdpbridge::proxy::asio;

TEST(SessionRegistry, ADrainClosesHandshakesAndLeavesEstablishedSessions) {
    asio::io_context loop;
    SessionRegistry registry;
    std::vector<int> closed;
    auto handshake = registry.add(loop.get_executor(), [&] { closed.push_back(1); });
    auto session = registry.add(loop.get_executor(), [&] { closed.push_back(2); });
    session.established({}, nullptr);
    EXPECT_EQ(registry.size(), 2u);
    EXPECT_EQ(registry.established(), 1u);
    EXPECT_EQ(registry.handshakes(), 1u);
    registry.close_all(/*handshakes_only=*/true);
    loop.poll();
    EXPECT_EQ(closed, std::vector<int>({1}));
    registry.close_all();
    loop.restart();
    loop.poll();
    EXPECT_EQ(closed, std::vector<int>({1, 1, 2}));
}

TEST(SessionRegistry, AnEntryGoesWithItsSessionEvenDuringCloseAll) {
    asio::io_context loop;
    SessionRegistry registry;
    std::optional<SessionRegistry::Registration> second;
    int calls = 0;
    auto first = registry.add(loop.get_executor(), [&] {
        ++calls;
        second.reset();  // closing one session ends another: its closer must not run
    });
    second.emplace(registry.add(loop.get_executor(), [&] { calls += 100; }));
    registry.close_all();
    loop.poll();
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(registry.size(), 1u);
}

// Sessions run on several worker loops: a closer runs on its session's loop, never on the
// caller's, so it cannot race the session's own code.
TEST(SessionRegistry, ACloserRunsOnItsSessionsLoop) {
    asio::io_context caller, worker;
    SessionRegistry registry;
    int closed = 0;
    auto session = registry.add(worker.get_executor(), [&] { ++closed; });
    registry.close_all();
    caller.poll();
    EXPECT_EQ(closed, 0);
    worker.poll();
    EXPECT_EQ(closed, 1);
}

// A session that ends between close_all and its loop getting to the closer is not called.
TEST(SessionRegistry, ASessionThatEndedBeforeItsLoopRanIsNotClosed) {
    asio::io_context worker;
    SessionRegistry registry;
    int closed = 0;
    std::optional<SessionRegistry::Registration> session;
    session.emplace(registry.add(worker.get_executor(), [&] { ++closed; }));
    registry.close_all();
    session.reset();
    worker.poll();
    EXPECT_EQ(closed, 0);
    EXPECT_EQ(registry.size(), 0u);
}

// The status page's live sessions: only established ones, with the bytes their relay has moved
// so far, and gone with their session.
TEST(SessionRegistry, LiveSessionsCarryTheirRelaysBytes) {
    asio::io_context loop;
    SessionRegistry registry;
    rdpbridge::proxy::RelayCounters counters;
    auto handshake = registry.add(loop.get_executor(), [] {});
    std::optional<SessionRegistry::Registration> session;
    session.emplace(registry.add(loop.get_executor(), [] {}));
    rdpbridge::review::LiveSession info;
    info.conn = "c1";
    info.user = "alice";
    session->established(info, &counters);
    counters.client_to_host = 120;
    counters.host_to_client = 34000;
    auto live = registry.live();
    ASSERT_EQ(live.size(), 1u);
    EXPECT_EQ(live[0].user, "alice");
    EXPECT_EQ(live[0].bytes_client_to_host, 120u);
    EXPECT_EQ(live[0].bytes_host_to_client, 34000u);
    session.reset();
    EXPECT_TRUE(registry.live().empty());
}

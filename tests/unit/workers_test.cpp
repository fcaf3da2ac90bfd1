// The worker loops sessions run on (proxy/workers.hpp).
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "proxy/workers.hpp"

using rdpbridge::proxy::Workers;
namespace asio = rdpbridge::proxy::asio;

TEST(Workers, AssignsTheLeastLoadedLoopAndCountsUntilTheAssignmentGoes) {
    Workers workers(3);
    auto a = workers.assign();
    auto b = workers.assign();
    auto c = workers.assign();
    EXPECT_EQ((std::vector<std::size_t>{a.worker(), b.worker(), c.worker()}),
              (std::vector<std::size_t>{0, 1, 2}));
    EXPECT_EQ(workers.load(), (std::vector<std::size_t>{1, 1, 1}));
    { auto gone = std::move(b); }
    EXPECT_EQ(workers.load(), (std::vector<std::size_t>{1, 0, 1}));
    EXPECT_EQ(workers.assign().worker(), 1u);  // the emptied loop first
}

TEST(Workers, WorkRunsOnTheAssignedLoopsThread) {
    Workers workers(2);
    auto first = workers.assign();
    auto second = workers.assign();
    auto thread_of = [](const Workers::Assignment& a) {
        std::promise<std::thread::id> id;
        asio::post(a.executor(), [&] { id.set_value(std::this_thread::get_id()); });
        return id.get_future().get();
    };
    const auto one = thread_of(first), two = thread_of(second);
    EXPECT_NE(one, two);
    EXPECT_NE(one, std::this_thread::get_id());
    EXPECT_EQ(thread_of(first), one);
}

TEST(Workers, AStuckLoopMissesTheWatchdogProbe) {
    Workers workers(2);
    EXPECT_TRUE(workers.every_loop_answered());  // nothing asked yet
    // Wait until both loops ran the probe just posted.
    for (int i = 0; i < 1000 && !workers.every_loop_answered(); ++i) std::this_thread::yield();
    std::promise<void> release;
    auto stuck = workers.assign();  // loop 0 is blocked until released
    asio::post(stuck.executor(), [f = release.get_future().share()] { f.wait(); });
    workers.every_loop_answered();  // posts a probe loop 0 cannot run
    EXPECT_FALSE(workers.every_loop_answered());
    release.set_value();
    workers.stop();
}

TEST(Workers, AvailableCpusIsAtLeastOne) {
    EXPECT_GE(rdpbridge::proxy::available_cpus(), 1);
}

// Blocking calls run off the session's loop and the session resumes on it
// (proxy/blocking_pool.hpp).
#include <gtest/gtest.h>

#include <future>
#include <stdexcept>
#include <string>
#include <thread>

#include "proxy/blocking_pool.hpp"

using rdpbridge::proxy::BlockingPool;
namespace asio = rdpbridge::proxy::asio;

TEST(BlockingPool, RunsOffTheLoopAndResumesOnIt) {
    asio::io_context loop;
    BlockingPool pool(1);
    std::thread::id ran_on, resumed_on;
    int answer = 0;
    asio::co_spawn(
        loop,
        [&]() -> asio::awaitable<void> {
            co_await pool.run([&] {
                ran_on = std::this_thread::get_id();
                answer = 42;
            });
            resumed_on = std::this_thread::get_id();
        },
        asio::detached);
    loop.run();
    EXPECT_EQ(answer, 42);
    EXPECT_NE(ran_on, std::this_thread::get_id());
    EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

// While one session waits for a slow call, the loop goes on serving the others.
TEST(BlockingPool, ASlowCallDoesNotStallTheLoop) {
    asio::io_context loop;
    BlockingPool pool(1);
    std::promise<void> release;
    auto released = release.get_future().share();
    bool other_ran = false, slow_done = false;
    asio::co_spawn(
        loop,
        [&]() -> asio::awaitable<void> {
            co_await pool.run([&released] { released.wait(); });
            slow_done = true;
        },
        asio::detached);
    asio::co_spawn(
        loop,
        [&]() -> asio::awaitable<void> {
            other_ran = true;
            release.set_value();  // only reached if the loop was not blocked by the slow call
            co_return;
        },
        asio::detached);
    loop.run();
    EXPECT_TRUE(other_ran);
    EXPECT_TRUE(slow_done);
}

TEST(BlockingPool, AnExceptionReachesTheAwaitingCoroutine) {
    asio::io_context loop;
    BlockingPool pool(1);
    std::string caught;
    asio::co_spawn(
        loop,
        [&]() -> asio::awaitable<void> {
            try {
                co_await pool.run([] { throw std::runtime_error("gss failed"); });
            } catch (const std::runtime_error& e) {
                caught = e.what();
            }
        },
        asio::detached);
    loop.run();
    EXPECT_EQ(caught, "gss failed");
}

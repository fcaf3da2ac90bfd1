// The idle timeout's decisions with the clock passed in (proxy/idle.hpp; the timer is relay.hpp's).
#include <gtest/gtest.h>

#include "proxy/idle.hpp"

using namespace rdpbridge::proxy;
using namespace std::chrono_literals;

namespace {

const std::chrono::steady_clock::time_point kLast{10h};

TEST(IdleTimeout, ExpiresExactlyAfterTheTimeoutWithoutBytes) {
    EXPECT_FALSE(idle_expired(kLast, kLast, 30s));
    EXPECT_FALSE(idle_expired(kLast + 30s - 1ms, kLast, 30s));
    EXPECT_TRUE(idle_expired(kLast + 30s, kLast, 30s));
    EXPECT_TRUE(idle_expired(kLast + 12h, kLast, 30s));  // a timer that woke late
}

// The timer is set from the last byte when it is armed; bytes that moved since push the
// deadline, and the wake-up must not close a session that is busy again.
TEST(IdleTimeout, ActivitySinceTheTimerWasSetKeepsTheSession) {
    const auto armed_at_last = kLast;
    const auto later_byte = kLast + 20s;
    const auto wake = armed_at_last + 30s;
    EXPECT_TRUE(idle_expired(wake, armed_at_last, 30s));
    EXPECT_FALSE(idle_expired(wake, later_byte, 30s));
    EXPECT_TRUE(idle_expired(later_byte + 30s, later_byte, 30s));
}

TEST(IdleTimeout, ZeroMeansNever) {
    EXPECT_FALSE(idle_expired(kLast + 24h * 365, kLast, 0ms));
}

TEST(IdleTimeout, ReasonNamesTheTimeoutAsConfigured) {
    EXPECT_EQ(idle_reason(12h),
              "idle_timeout: no data either way for 43200 s ([limits] idle_timeout)");
    EXPECT_EQ(idle_reason(30s),
              "idle_timeout: no data either way for 30 s ([limits] idle_timeout)");
    // Sub-second and fractional timeouts are not rounded down to a lie ("0 s").
    EXPECT_EQ(idle_reason(500ms),
              "idle_timeout: no data either way for 500 ms ([limits] idle_timeout)");
    EXPECT_EQ(idle_reason(1500ms),
              "idle_timeout: no data either way for 1500 ms ([limits] idle_timeout)");
}

}  // namespace

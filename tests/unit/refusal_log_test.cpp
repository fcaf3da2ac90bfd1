#include "proxy/refusal_log.hpp"

#include <gtest/gtest.h>

using rdpbridge::proxy::RefusalLog;
using namespace std::chrono_literals;

TEST(RefusalLog, FirstOfASourceAndReasonPerWindowGetsALineTheRestASummary) {
    RefusalLog log(10s);
    const auto t0 = RefusalLog::Clock::time_point{} + 1h;
    EXPECT_TRUE(log.first("192.0.2.1", "rate_limited", t0));
    for (int i = 0; i < 1999; ++i) EXPECT_FALSE(log.first("192.0.2.1", "rate_limited", t0 + 1s));
    // Another source, or another reason, is news.
    EXPECT_TRUE(log.first("192.0.2.2", "rate_limited", t0 + 1s));
    EXPECT_TRUE(log.first("192.0.2.1", "source_not_allowed", t0 + 1s));
    EXPECT_TRUE(log.take_due(t0 + 9s).empty());  // the window is still open
    const auto due = log.take_due(t0 + 10s);
    ASSERT_EQ(due.size(), 1u);  // windows with nothing suppressed need no summary
    EXPECT_EQ(due[0].source, "192.0.2.1");
    EXPECT_EQ(due[0].reason, "rate_limited");
    EXPECT_EQ(due[0].count, 1999u);
    EXPECT_TRUE(log.take_due(t0 + 20s).empty());
    // After its window, the source gets a line of its own again.
    EXPECT_TRUE(log.first("192.0.2.1", "rate_limited", t0 + 21s));
}

#include "config/duration.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string_view>

using namespace rdpbridge::config;

TEST(DurationText, Units) {
    EXPECT_EQ(parse_duration_text("500ms"), 500);
    EXPECT_EQ(parse_duration_text("10s"), 10'000);
    EXPECT_EQ(parse_duration_text("2m"), 120'000);
    EXPECT_EQ(parse_duration_text("12h"), 43'200'000);
    // Negative numbers parse; check_duration_ms is what refuses them.
    EXPECT_EQ(parse_duration_text("-5s"), -5'000);
}

TEST(DurationText, Rejects) {
    for (std::string_view text : {"", "10", "s", "10x", "10 s", "1.5s", "ms10", "10S"}) {
        EXPECT_FALSE(parse_duration_text(text)) << text;
    }
}

TEST(DurationText, HugeValuesSaturateSoTheyReadAsTooLong) {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    EXPECT_EQ(parse_duration_text("99999999999999999999s"), kMax);
    EXPECT_EQ(parse_duration_text("9223372036854775807h"), kMax);
}

TEST(DurationRange, Messages) {
    EXPECT_FALSE(check_duration_ms(600'000, "\"10m\""));
    EXPECT_EQ(check_duration_ms(0, "0s"), "0s is too short; a duration must be more than 0");
    EXPECT_EQ(check_duration_ms(600'001, "\"600001ms\""),
              "\"600001ms\" is too long; this duration must be at most 10m");
    EXPECT_EQ(check_duration_ms(kMaxKeepaliveMs + 1, "\"3h\"", kMaxKeepaliveMs),
              "\"3h\" is too long; this duration must be at most 2h");
    EXPECT_EQ(check_duration_ms(kMaxIdleMs + 1, "\"8d\"", kMaxIdleMs),
              "\"8d\" is too long; this duration must be at most 168h");
}

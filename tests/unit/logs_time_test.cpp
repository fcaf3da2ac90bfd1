#include <gtest/gtest.h>

#include "proxy/logs/time_text.hpp"

using namespace rdpbridge::logs;
using namespace std::chrono;

TEST(LogsTime, ParsesAndFormatsTheGatewaysTimestamps) {
    const auto t = parse_timestamp("2026-11-25T18:06:28.568Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_timestamp(*t), "2026-11-25T18:06:28.568Z");
    EXPECT_EQ(t->time_since_epoch(),
              sys_days{2026y / 11 / 25}.time_since_epoch() + 18h + 6min + 28s + 568ms);
}

TEST(LogsTime, AcceptsFractionsOfAnyLengthAndOffsets) {
    EXPECT_EQ(format_timestamp(*parse_timestamp("2026-01-02T03:04:05Z")),
              "2026-01-02T03:04:05.000Z");
    EXPECT_EQ(format_timestamp(*parse_timestamp("2026-01-02T03:04:05.5Z")),
              "2026-01-02T03:04:05.500Z");
    EXPECT_EQ(format_timestamp(*parse_timestamp("2026-01-02T03:04:05.123456Z")),
              "2026-01-02T03:04:05.123Z");
    EXPECT_EQ(*parse_timestamp("2026-01-02T05:04:05+02:00"),
              *parse_timestamp("2026-01-02T03:04:05Z"));
    EXPECT_EQ(*parse_timestamp("2026-01-01T23:30:00-01:00"),
              *parse_timestamp("2026-01-02T00:30:00Z"));
}

TEST(LogsTime, RejectsWhatIsNotATimestamp) {
    for (const char* bad :
         {"", "2026-11-25", "2026-11-25T18:06:28", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
          "2026-11-25T24:00:00Z", "2026-11-25T18:06:28.Z", "2026-11-25T18:06:28Zjunk",
          "2026-11-25T18:06:28+0200", "20261125T180628Z", "yesterday"})
        EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

TEST(LogsTime, ParsesDurations) {
    EXPECT_EQ(parse_duration("90s"), seconds(90));
    EXPECT_EQ(parse_duration("30m"), minutes(30));
    EXPECT_EQ(parse_duration("1h"), hours(1));
    EXPECT_EQ(parse_duration("2d"), hours(48));
    EXPECT_EQ(parse_duration("1w"), hours(24 * 7));
    EXPECT_EQ(parse_duration("1h30m"), minutes(90));
    for (const char* bad : {"", "h", "10", "5x", "-1h", "1.5h", "1h 30m", "1H", "9999999999w"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
}

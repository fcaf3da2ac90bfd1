#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

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

namespace {

// Sets TZ for one test and puts the previous value back: local times are converted with the
// time zone in effect. POSIX TZ strings, so that no tzdata is needed.
class LocalZone {
  public:
    explicit LocalZone(const char* tz) {
        if (const char* old = std::getenv("TZ")) old_ = old;
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~LocalZone() {
        if (old_)
            ::setenv("TZ", old_->c_str(), 1);
        else
            ::unsetenv("TZ");
        ::tzset();
    }

  private:
    std::optional<std::string> old_;
};

TimePoint utc(const char* text) {
    return *parse_timestamp(text);
}

LocalTime local(year_month_day date, milliseconds time_of_day = {}) {
    return LocalTime{date, time_of_day};
}

}  // namespace

TEST(LogsTime, TimeArgumentsAreDurationsInstantsOrLocalDateTimes) {
    EXPECT_EQ(parse_time_arg("30m"), TimeArg{minutes(30)});
    EXPECT_EQ(parse_time_arg("1d"), TimeArg{hours(24)});
    EXPECT_EQ(parse_time_arg("2026-12-04T10:00:00Z"), TimeArg{utc("2026-12-04T10:00:00Z")});
    EXPECT_EQ(parse_time_arg("2026-12-04T11:00:00+01:00"), TimeArg{utc("2026-12-04T10:00:00Z")});
    EXPECT_EQ(parse_time_arg("2026-12-04T10:00Z"), TimeArg{utc("2026-12-04T10:00:00Z")});
    EXPECT_EQ(parse_time_arg("2026-12-04t10:00:00.250z"), TimeArg{utc("2026-12-04T10:00:00.250Z")});
    EXPECT_EQ(parse_time_arg("2026-12-04 10:00"), TimeArg{local(2026y / 12 / 4, 10h)});
    EXPECT_EQ(parse_time_arg("2026-12-04T10:00"), TimeArg{local(2026y / 12 / 4, 10h)});
    EXPECT_EQ(parse_time_arg("2026-12-04 10:00:30"), TimeArg{local(2026y / 12 / 4, 10h + 30s)});
    EXPECT_EQ(parse_time_arg("2026-12-04"), TimeArg{local(2026y / 12 / 4)});
}

TEST(LogsTime, RejectsWhatIsNotATimeArgument) {
    for (const char* bad :
         {"", "soon", "yesterday", "10:00", "2026-12-4", "2026-12-04T", "2026-12-04 ",
          "2026-12-04 10", "2026-12-04 10:0", "2026-12-04 25:00", "2026-12-04 10:60", "2026-02-30",
          "2026-12-04Z", "2026-12-04 10:00:00.Z", "2026-12-04T10:00:00+0100",
          "2026-12-04T10:00:00 Z", "2026-12-04T10:00:00Zjunk", "-1h", "2026/12/04"})
        EXPECT_FALSE(parse_time_arg(bad)) << bad;
}

TEST(LogsTime, LogTimestampsStillNeedSecondsAndAZone) {
    EXPECT_FALSE(parse_timestamp("2026-12-04T10:00Z"));
    EXPECT_FALSE(parse_timestamp("2026-12-04 10:00:00"));
}

TEST(LogsTime, DurationsCountBackFromNowAndInstantsStandAlone) {
    const TimePoint now = utc("2026-12-04T12:00:00Z");
    EXPECT_EQ(resolve_time_arg(*parse_time_arg("2h"), now), utc("2026-12-04T10:00:00Z"));
    EXPECT_EQ(resolve_time_arg(*parse_time_arg("1d"), now), utc("2026-12-03T12:00:00Z"));
    EXPECT_EQ(resolve_time_arg(*parse_time_arg("2026-12-01T00:00:00+02:00"), now),
              utc("2026-11-30T22:00:00Z"));
}

TEST(LogsTime, LocalDateTimesUseTheTimeZoneInEffect) {
    const TimePoint now = utc("2026-12-04T12:00:00Z");
    {
        LocalZone zone("UTC0");
        EXPECT_EQ(resolve_time_arg(*parse_time_arg("2026-12-04 10:00"), now),
                  utc("2026-12-04T10:00:00Z"));
        EXPECT_EQ(resolve_time_arg(*parse_time_arg("2026-12-04"), now),
                  utc("2026-12-04T00:00:00Z"));
        EXPECT_EQ(local_to_instant(local(1969y / 12 / 31, 23h + 59min + 59s)),
                  utc("1969-12-31T23:59:59Z"));  // mktime's -1, yet a time
    }
    {
        LocalZone zone("<+0530>-5:30");  // east of UTC
        EXPECT_EQ(resolve_time_arg(*parse_time_arg("2026-12-04T10:00:00.5"), now),
                  utc("2026-12-04T04:30:00.500Z"));
    }
    {
        LocalZone zone("CET-1CEST,M3.5.0,M10.5.0/3");  // Central Europe: +1, +2 in summer
        EXPECT_EQ(resolve_time_arg(*parse_time_arg("2026-12-04"), now),
                  utc("2026-12-03T23:00:00Z"));
        EXPECT_EQ(resolve_time_arg(*parse_time_arg("2026-07-01 12:00"), now),
                  utc("2026-07-01T10:00:00Z"));
    }
}

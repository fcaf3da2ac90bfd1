// Timestamps and durations as they appear in handshake logs and on the `logs` command line:
// "2026-11-25T18:06:28.568Z" and "30m", "1h", "2d", "1h30m", and the points in time --since and
// --until take. No clock: "now" is passed in.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace rdpbridge::logs {

using TimePoint = std::chrono::sys_time<std::chrono::milliseconds>;

// ISO-8601 date-time with a 'T' (or ' ') separator, optional fraction (kept to milliseconds)
// and a "Z" or ±HH:MM offset. The gateway writes UTC with "Z"; offsets are accepted so that
// logs passed through other tools still parse.
std::optional<TimePoint> parse_timestamp(std::string_view text);

// "YYYY-MM-DDTHH:MM:SS.mmmZ", the gateway's own format.
std::string format_timestamp(TimePoint t);

// One or more <digits><unit> pairs, unit s, m, h, d or w ("90s", "1h30m", "2d").
std::optional<std::chrono::seconds> parse_duration(std::string_view text);

// A date and a time of day on a wall clock, without a zone: "2026-12-04 10:00".
struct LocalTime {
    std::chrono::year_month_day date;
    std::chrono::milliseconds time_of_day{0};
    bool operator==(const LocalTime&) const = default;
};

// What a --since or --until argument says, before it meets a clock or a time zone: a duration
// back from now, an instant, or a local date-time.
using TimeArg = std::variant<std::chrono::seconds, TimePoint, LocalTime>;

// Accepts, in this order:
//  - a duration (parse_duration): "30m", "2h", "1d";
//  - RFC 3339 with "Z" or a ±HH:MM offset, seconds optional: "2026-12-04T10:00:00Z",
//    "2026-12-04T11:00+01:00" (an instant);
//  - the same without a zone, separator "T" or " ": "2026-12-04 10:00", "2026-12-04T10:00:30";
//    or a date alone, "2026-12-04", meaning its midnight (a local date-time).
std::optional<TimeArg> parse_time_arg(std::string_view text);

// The instant a TimeArg names: `now` minus a duration; a local date-time in the time zone in
// effect (TZ, through mktime: a time skipped by a daylight-saving change is moved forward, a
// repeated one is taken as the C library picks). nullopt if it cannot be represented.
std::optional<TimePoint> resolve_time_arg(const TimeArg& arg, TimePoint now);
std::optional<TimePoint> local_to_instant(const LocalTime& local);

}  // namespace rdpbridge::logs

// Timestamps and durations as they appear in handshake logs and on the `logs` command line:
// "2026-11-25T18:06:28.568Z" and "30m", "1h", "2d", "1h30m".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

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

}  // namespace rdpbridge::logs

// Durations as the config writes them ("500ms", "10s", "2m", "12h") and the ranges they must fall
// in. No TOML here: the reader decides what a bare integer means, this file judges the result.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rdpbridge::config {

// A timeout longer than this is almost certainly a unit mistake ("600" meant as ms).
constexpr std::int64_t kMaxDurationMs = 10 * 60 * 1000;
constexpr std::int64_t kMaxIdleMs = 7LL * 24 * 3600 * 1000;  // idle_timeout: up to a week
constexpr std::int64_t kMaxKeepaliveMs = 2LL * 3600 * 1000;  // keepalive: up to 2 hours

// "500ms", "10s", "2m", "12h" -> milliseconds; nullopt when it is not a number with one of those
// units.
std::optional<std::int64_t> parse_duration_text(std::string_view text);

// The problem with `ms` as a message that quotes `as_written`, or nothing when it is in
// 1..max_ms.
std::optional<std::string> check_duration_ms(std::int64_t ms, std::string_view as_written,
                                             std::int64_t max_ms = kMaxDurationMs);

}  // namespace rdpbridge::config

#include "config/duration.hpp"

#include <charconv>
#include <limits>
#include <system_error>

namespace rdpbridge::config {

// Values too large for int64 come back as the maximum so the range check reports them as too
// long rather than as malformed.
std::optional<std::int64_t> parse_duration_text(std::string_view text) {
    std::int64_t number = 0;
    const char* end = text.data() + text.size();
    const auto [rest, ec] = std::from_chars(text.data(), end, number);
    if (rest == text.data() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
        return std::nullopt;
    }
    const std::string_view unit(rest, static_cast<std::size_t>(end - rest));
    std::int64_t scale = 0;
    if (unit == "ms") scale = 1;
    if (unit == "s") scale = 1000;
    if (unit == "m") scale = 60 * 1000;
    if (unit == "h") scale = 60 * 60 * 1000;
    if (scale == 0) return std::nullopt;
    if (ec == std::errc::result_out_of_range ||
        number > std::numeric_limits<std::int64_t>::max() / scale) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return number * scale;
}

std::optional<std::string> check_duration_ms(std::int64_t ms, std::string_view as_written,
                                             std::int64_t max_ms) {
    if (ms <= 0) return std::string(as_written) + " is too short; a duration must be more than 0";
    if (ms > max_ms) {
        return std::string(as_written) + " is too long; this duration must be at most " +
               (max_ms == kMaxDurationMs ? std::string("10m")
                                         : std::to_string(max_ms / 3600000) + "h");
    }
    return std::nullopt;
}

}  // namespace rdpbridge::config

#include "proxy/logs/time_text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iterator>
#include <utility>

namespace rdpbridge::logs {

namespace {

// Reads exactly `n` digits at `pos` (advancing it); nullopt if any is not a digit.
std::optional<int> digits(std::string_view s, std::size_t& pos, std::size_t n) {
    if (pos + n > s.size()) return std::nullopt;
    int v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const char c = s[pos + i];
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    pos += n;
    return v;
}

// Duration units and their length in seconds.
constexpr std::pair<char, long long> kUnits[] = {
    {'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 604800}};

bool expect(std::string_view s, std::size_t& pos, char c) {
    if (pos >= s.size() || s[pos] != c) return false;
    ++pos;
    return true;
}

// The zone suffix as an offset east of UTC, in minutes.
std::optional<int> zone_offset_minutes(std::string_view s, std::size_t& pos) {
    if (pos >= s.size()) return std::nullopt;
    if (s[pos] == 'Z' || s[pos] == 'z') {
        ++pos;
        return 0;
    }
    if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
    const int sign = s[pos++] == '-' ? -1 : 1;
    const auto hh = digits(s, pos, 2);
    if (!hh || !expect(s, pos, ':')) return std::nullopt;
    const auto mm = digits(s, pos, 2);
    if (!mm || *hh > 23 || *mm > 59) return std::nullopt;
    return sign * (*hh * 60 + *mm);
}

// A date, optionally a time of day (seconds and fraction optional), optionally a zone: the
// grammar shared by log timestamps (which need all of it) and --since/--until.
struct DateTime {
    std::chrono::year_month_day date;
    std::chrono::milliseconds time_of_day{0};
    bool has_seconds = false;
    std::optional<int> offset_minutes;  // east of UTC
};

std::optional<DateTime> parse_date_time(std::string_view s) {
    using namespace std::chrono;
    DateTime dt;
    std::size_t pos = 0;
    const auto y = digits(s, pos, 4);
    if (!y || !expect(s, pos, '-')) return std::nullopt;
    const auto mo = digits(s, pos, 2);
    if (!mo || !expect(s, pos, '-')) return std::nullopt;
    const auto d = digits(s, pos, 2);
    if (!d) return std::nullopt;
    dt.date = year_month_day{year{*y}, month{unsigned(*mo)}, day{unsigned(*d)}};
    if (!dt.date.ok()) return std::nullopt;
    if (pos == s.size()) return dt;

    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
    ++pos;
    const auto hh = digits(s, pos, 2);
    if (!hh || !expect(s, pos, ':')) return std::nullopt;
    const auto mi = digits(s, pos, 2);
    if (!mi) return std::nullopt;
    int ss = 0, ms = 0;
    if (pos < s.size() && s[pos] == ':') {
        ++pos;
        const auto sec = digits(s, pos, 2);
        if (!sec) return std::nullopt;
        ss = *sec;
        dt.has_seconds = true;
        if (pos < s.size() && s[pos] == '.') {
            ++pos;
            const std::size_t start = pos;
            for (int scale = 100; pos < s.size() && s[pos] >= '0' && s[pos] <= '9'; ++pos) {
                ms += (s[pos] - '0') * scale;  // digits past milliseconds add 0
                scale /= 10;
            }
            if (pos == start) return std::nullopt;
        }
    }
    // 60 seconds is allowed for a leap second; chrono folds it into the next minute.
    if (*hh > 23 || *mi > 59 || ss > 60) return std::nullopt;
    dt.time_of_day = hours{*hh} + minutes{*mi} + seconds{ss} + milliseconds{ms};
    if (pos == s.size()) return dt;
    dt.offset_minutes = zone_offset_minutes(s, pos);
    if (!dt.offset_minutes || pos != s.size()) return std::nullopt;
    return dt;
}

TimePoint at_offset(const DateTime& dt) {
    using namespace std::chrono;
    return TimePoint{sys_days{dt.date}} + dt.time_of_day - minutes{*dt.offset_minutes};
}

}  // namespace

std::optional<TimePoint> parse_timestamp(std::string_view s) {
    const auto dt = parse_date_time(s);
    if (!dt || !dt->has_seconds || !dt->offset_minutes) return std::nullopt;
    return at_offset(*dt);
}

std::string format_timestamp(TimePoint t) {
    using namespace std::chrono;
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()),
                  int(hms.subseconds().count()));
    return buf;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
    using std::chrono::seconds;
    if (s.empty()) return std::nullopt;
    long long total = 0;
    std::size_t pos = 0;
    while (pos < s.size()) {
        long long n = 0;
        const std::size_t start = pos;
        // At most nine digits, so that n * unit cannot overflow.
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9' && pos - start < 9)
            n = n * 10 + (s[pos++] - '0');
        if (pos == start || pos >= s.size()) return std::nullopt;
        const auto unit = std::find_if(std::begin(kUnits), std::end(kUnits),
                                       [&](const auto& u) { return u.first == s[pos]; });
        if (unit == std::end(kUnits)) return std::nullopt;
        ++pos;
        total += n * unit->second;
        // About 100,000 years: no log is that old, and any number of pairs stays far from
        // overflowing once converted to milliseconds.
        if (total > 3'200'000'000'000LL) return std::nullopt;
    }
    return seconds{total};
}

std::optional<TimeArg> parse_time_arg(std::string_view text) {
    if (const auto ago = parse_duration(text)) return TimeArg{*ago};
    const auto dt = parse_date_time(text);
    if (!dt) return std::nullopt;
    if (dt->offset_minutes) return TimeArg{at_offset(*dt)};
    return TimeArg{LocalTime{dt->date, dt->time_of_day}};
}

std::optional<TimePoint> local_to_instant(const LocalTime& local) {
    using namespace std::chrono;
    const auto whole = floor<seconds>(local.time_of_day);
    const hh_mm_ss hms{whole};
    std::tm tm{};
    tm.tm_year = int(local.date.year()) - 1900;
    tm.tm_mon = int(unsigned(local.date.month())) - 1;
    tm.tm_mday = int(unsigned(local.date.day()));
    tm.tm_hour = int(hms.hours().count());
    tm.tm_min = int(hms.minutes().count());
    tm.tm_sec = int(hms.seconds().count());
    tm.tm_isdst = -1;  // the zone's rules decide whether daylight saving is in effect
    errno = 0;
    const std::time_t t = std::mktime(&tm);
    // -1 is also one second before the epoch; only errno tells them apart.
    if (t == std::time_t(-1) && errno != 0) return std::nullopt;
    return TimePoint{seconds{t}} + (local.time_of_day - whole);
}

std::optional<TimePoint> resolve_time_arg(const TimeArg& arg, TimePoint now) {
    if (const auto* ago = std::get_if<std::chrono::seconds>(&arg)) return now - *ago;
    if (const auto* instant = std::get_if<TimePoint>(&arg)) return *instant;
    return local_to_instant(std::get<LocalTime>(arg));
}

}  // namespace rdpbridge::logs

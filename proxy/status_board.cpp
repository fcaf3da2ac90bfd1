#include "proxy/status_board.hpp"

#include <algorithm>

#include "proxy/logs/review_builder.hpp"

namespace rdpbridge::proxy {

namespace {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kWeekHours = 7 * 24;

std::string text(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

StatusBoard::Clock::time_point at_hour(std::int64_t hour) {
    return StatusBoard::Clock::time_point(std::chrono::seconds(hour * kHour));
}

// Counts per cause over `buckets` buckets of `hours_per_bucket` hours, the last one holding
// `now_hour`; causes with no failure in the window are left out, the most frequent first.
review::Timeline timeline(
    const std::map<std::string, std::map<std::int64_t, std::uint64_t>>& hourly,
    std::int64_t now_hour, std::int64_t hours_per_bucket, std::size_t buckets, std::string label) {
    review::Timeline t;
    t.label = std::move(label);
    t.bucket_seconds = hours_per_bucket * kHour;
    t.buckets = buckets;
    const std::int64_t last = now_hour - (now_hour % hours_per_bucket + hours_per_bucket) %
                                             hours_per_bucket;  // start of the bucket holding now
    const std::int64_t first = last - std::int64_t(buckets - 1) * hours_per_bucket;
    t.start = iso_time(at_hour(first));
    for (const auto& [cause, hours] : hourly) {
        review::Timeline::Series series{cause, std::vector<std::uint64_t>(buckets, 0), 0};
        for (auto it = hours.lower_bound(first); it != hours.end(); ++it) {
            const auto bucket = std::size_t((it->first - first) / hours_per_bucket);
            if (bucket >= buckets) break;
            series.counts[bucket] += it->second;
            series.total += it->second;
        }
        if (series.total != 0) t.by_cause.push_back(std::move(series));
    }
    std::stable_sort(t.by_cause.begin(), t.by_cause.end(),
                     [](const auto& a, const auto& b) { return a.total > b.total; });
    return t;
}

}  // namespace

std::int64_t StatusBoard::hour_of(Clock::time_point t) {
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
    return s >= 0 ? s / kHour : (s - kHour + 1) / kHour;
}

void StatusBoard::on_event(const Json& event, Clock::time_point now) {
    const std::string name = text(event, "event");
    if (name != "session_established" && name != "handshake_failed") return;
    const std::lock_guard lock(mutex_);
    if (name == "handshake_failed") {
        on_failure(event, now);
        return;
    }
    Backend& b = backends_[text(event, "backend")];
    b.last_success = now;
    ++b.established;
    const Json empty = Json::object();
    const Json& front = event.contains("front") ? event["front"] : empty;
    const Json& back = event.contains("back") ? event["back"] : empty;
    b.front_security = logs::leg_security(front);
    b.back_security = logs::leg_security(back);
    if (const auto it = back.find("cert_days_left"); it != back.end() && it->is_number()) {
        b.cert_days_left = it->get<long>();
        b.cert_seen = now;
    }
}

void StatusBoard::on_failure(const Json& event, Clock::time_point now) {
    const std::string cause = text(event, "cause");
    // Refused at accept (limits, allow/deny) before any byte: admission's business, already in
    // the metrics, not a handshake that failed.
    if (text(event, "stage") == "client_transport") return;
    const std::string backend = text(event, "backend");
    if (!backend.empty()) {
        Backend& b = backends_[backend];
        ++b.failed;
        b.last_failure = review::LastFailure{iso_time(now),
                                             text(event, "stage"),
                                             cause,
                                             text(event, "explanation"),
                                             text(event, "hint"),
                                             text(event, "detail"),
                                             text(event, "conn")};
        b.last_failure_at = now;
    }
    auto& hours = hourly_[cause];
    const std::int64_t hour = hour_of(now);
    ++hours[hour];
    hours.erase(hours.begin(), hours.lower_bound(hour - kWeekHours + 1));
    Json whole{{"ts", iso_time(now)}};
    whole.update(event);
    recent_.push_front(std::move(whole));
    if (recent_.size() > recent_limit_) recent_.pop_back();
}

review::Review StatusBoard::review(Clock::time_point now,
                                   const std::vector<std::string>& backends) const {
    const std::lock_guard lock(mutex_);
    review::Review r;
    r.generated = iso_time(now);
    std::vector<std::string> names = backends;
    for (const auto& [name, b] : backends_)
        if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end())
            names.push_back(name);
    for (const auto& name : names) {
        review::BackendRow row;
        row.name = name;
        row.state = "never reached";
        if (const auto it = backends_.find(name); it != backends_.end()) {
            const Backend& b = it->second;
            if (b.last_success) row.last_success = iso_time(*b.last_success);
            row.last_failure = b.last_failure;
            const bool failing =
                b.last_failure_at && (!b.last_success || *b.last_failure_at > *b.last_success);
            row.state = failing ? "failing" : b.last_success ? "ok" : "never reached";
            row.front_security = b.front_security;
            row.back_security = b.back_security;
            if (b.cert_days_left) {
                const auto days =
                    std::chrono::duration_cast<std::chrono::hours>(now - b.cert_seen).count() / 24;
                row.cert_days_left = *b.cert_days_left - long(days);
            }
            row.established = b.established;
            row.failed = b.failed;
        }
        r.backends.push_back(std::move(row));
    }
    const std::int64_t now_hour = hour_of(now);
    r.timelines.push_back(timeline(hourly_, now_hour, 1, 24, "last 24 h"));
    r.timelines.push_back(timeline(hourly_, now_hour, 6, 28, "last 7 days"));
    for (const auto& series : r.timelines.back().by_cause) r.failures_in_window += series.total;
    r.recent_failures.assign(recent_.begin(), recent_.end());
    return r;
}

}  // namespace rdpbridge::proxy

#include "proxy/logs/timeline.hpp"

#include <algorithm>
#include <map>

namespace rdpbridge::logs {

TimePoint window_end(TimePoint after, std::chrono::seconds bucket) {
    using std::chrono::milliseconds;
    const auto step = std::chrono::duration_cast<milliseconds>(bucket).count();
    const auto t = after.time_since_epoch().count();
    // Floor division, so that instants before the epoch round the same way.
    auto n = t / step;
    if (n * step > t) --n;
    if (n * step < t) ++n;
    return TimePoint{milliseconds{n * step}};
}

review::Timeline make_timeline(std::string label, TimePoint end, std::chrono::seconds bucket,
                               std::size_t buckets, const std::vector<FailureTime>& failures) {
    review::Timeline t;
    t.label = std::move(label);
    t.bucket_seconds = bucket.count();
    t.buckets = buckets;
    const TimePoint start = end - bucket * static_cast<long>(buckets);
    t.start = format_timestamp(start);

    std::map<std::string, review::Timeline::Series> series;
    for (const auto& f : failures) {
        if (f.ts < start || f.ts >= end) continue;
        const auto index = static_cast<std::size_t>((f.ts - start) / bucket);
        auto& s = series[f.cause];
        if (s.counts.empty()) {
            s.cause = f.cause;
            s.counts.assign(buckets, 0);
        }
        ++s.counts[index];
        ++s.total;
    }
    for (auto& [cause, s] : series) t.by_cause.push_back(std::move(s));
    std::stable_sort(t.by_cause.begin(), t.by_cause.end(),
                     [](const auto& a, const auto& b) { return a.total > b.total; });
    return t;
}

}  // namespace rdpbridge::logs

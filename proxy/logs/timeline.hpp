// Failures over time for the review (proxy/review/review.hpp): counted per cause in equal
// buckets over a window that ends at a bucket boundary, so that the chart's axis reads in whole
// hours (or whole six-hour quarters of a UTC day). Pure: the end comes from the caller.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "proxy/logs/time_text.hpp"
#include "proxy/review/review.hpp"

namespace rdpbridge::logs {

struct FailureTime {
    TimePoint ts;
    std::string cause;
};

// The first bucket boundary at or after `after` (boundaries are whole multiples of `bucket`
// since the epoch). A window meant to hold an event at `ts` ends at window_end(ts + 1 ms).
TimePoint window_end(TimePoint after, std::chrono::seconds bucket);

// `buckets` buckets of `bucket` ending at `end` (a boundary); failures outside them are left
// out. Causes with no failure in the window are not listed; the rest most failures first, then
// by id.
review::Timeline make_timeline(std::string label, TimePoint end, std::chrono::seconds bucket,
                               std::size_t buckets, const std::vector<FailureTime>& failures);

}  // namespace rdpbridge::logs

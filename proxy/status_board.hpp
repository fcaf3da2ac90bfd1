// What the status page remembers of the handshake log: per backend its last success and failure
// and the security last negotiated, failures per cause per hour for seven days, and the newest
// failures whole. Fed with every event as it is written (like the metrics), with the time passed
// in; bounded whatever the traffic: at most 168 hourly counters per cause and `recent_limit`
// failure events, so 100,000 events in the window cost no more than ten.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "proxy/handshake_log.hpp"
#include "proxy/review/review.hpp"

namespace rdpbridge::proxy {

class StatusBoard {
  public:
    using Clock = std::chrono::system_clock;

    explicit StatusBoard(std::size_t recent_limit = 200) : recent_limit_(recent_limit) {}

    void on_event(const Json& event, Clock::time_point now);

    // The history part of the review at `now`: a row for each backend in `backends` (in that
    // order; then any other the log named), the 24-hour and 7-day timelines, the newest failures.
    // Live sessions, host identity states and the access mode are the caller's to fill.
    review::Review review(Clock::time_point now, const std::vector<std::string>& backends) const;

  private:
    struct Backend {
        std::optional<Clock::time_point> last_success;
        std::optional<review::LastFailure> last_failure;
        std::optional<Clock::time_point> last_failure_at;
        std::string front_security;
        std::string back_security;
        std::optional<long> cert_days_left;  // as logged at cert_seen
        Clock::time_point cert_seen;
        std::uint64_t established = 0;
        std::uint64_t failed = 0;
    };

    void on_failure(const Json& event, Clock::time_point now);
    static std::int64_t hour_of(Clock::time_point t);

    mutable std::mutex mutex_;  // every worker loop writes events; the admin loop reads
    std::size_t recent_limit_;
    std::map<std::string, Backend> backends_;
    std::map<std::string, std::map<std::int64_t, std::uint64_t>> hourly_;  // cause -> hour -> n
    std::deque<Json> recent_;                                              // newest first
};

}  // namespace rdpbridge::proxy

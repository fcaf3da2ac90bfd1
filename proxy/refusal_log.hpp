// Refusals at accept (a source not allowed, a rate or slot limit) cost one log line each, and a
// flood of them would push real failures out of the log's queue. The first refusal of a source
// for a reason in each window gets its own line; the rest are counted and summarised when the
// window ends ("refused N connections from SOURCE in the last 10 s: REASON"). Pure bookkeeping
// with the clock passed in.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace rdpbridge::proxy {

class RefusalLog {
  public:
    using Clock = std::chrono::steady_clock;

    explicit RefusalLog(Clock::duration window = std::chrono::seconds(10)) : window_(window) {}

    // True when this refusal should be logged on its own line; otherwise it is counted.
    bool first(const std::string& source, const std::string& reason, Clock::time_point now);

    struct Summary {
        std::string source;
        std::string reason;
        std::size_t count;  // refusals not logged on their own line
    };
    // The summaries of windows that have ended by `now` (each pair once), oldest first.
    std::vector<Summary> take_due(Clock::time_point now);

    Clock::duration window() const { return window_; }

  private:
    struct Window {
        Clock::time_point started;
        std::size_t suppressed = 0;
    };
    Clock::duration window_;
    std::map<std::pair<std::string, std::string>, Window> windows_;
};

}  // namespace rdpbridge::proxy

#include "proxy/refusal_log.hpp"

namespace rdpbridge::proxy {

bool RefusalLog::first(const std::string& source, const std::string& reason,
                       Clock::time_point now) {
    auto [it, added] = windows_.try_emplace({source, reason}, Window{now, 0});
    if (added) return true;
    if (now - it->second.started >= window_) {
        // A new window; the old one's count is summarised by take_due() before this call in
        // the gateway's order of events, or lost to this line if it had nothing suppressed.
        if (it->second.suppressed == 0) {
            it->second.started = now;
            return true;
        }
    }
    ++it->second.suppressed;
    return false;
}

std::vector<RefusalLog::Summary> RefusalLog::take_due(Clock::time_point now) {
    std::vector<Summary> out;
    for (auto it = windows_.begin(); it != windows_.end();) {
        if (now - it->second.started < window_) {
            ++it;
            continue;
        }
        if (it->second.suppressed > 0)
            out.push_back({it->first.first, it->first.second, it->second.suppressed});
        it = windows_.erase(it);  // the next refusal from it opens a window with its own line
    }
    return out;
}

}  // namespace rdpbridge::proxy

#include "proxy/idle.hpp"

namespace rdpbridge::proxy {

bool idle_expired(std::chrono::steady_clock::time_point now,
                  std::chrono::steady_clock::time_point last_activity,
                  std::chrono::milliseconds timeout) {
    return timeout.count() > 0 && now >= last_activity + timeout;
}

std::string idle_reason(std::chrono::milliseconds timeout) {
    const auto ms = timeout.count();
    const std::string amount =
        ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
    return "idle_timeout: no data either way for " + amount + " ([limits] idle_timeout)";
}

}  // namespace rdpbridge::proxy

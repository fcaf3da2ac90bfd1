#include "proxy/admission.hpp"

#include <algorithm>

namespace rdpbridge::proxy {

namespace {

// Per-source state is forgotten once it holds nothing; checked only past this many sources.
constexpr std::size_t kPruneAbove = 4096;

std::string of_limit(std::size_t value, const char* key) {
    return "; the limit is " + std::to_string(value) + " ([limits] " + key + ")";
}

}  // namespace

std::optional<rdp::Failure> Admission::admit(const std::string& source, Clock::time_point now) {
    using rdp::Cause;
    if (sources_.size() > kPruneAbove) prune(now);
    const double rate = limits_.connections_per_second_per_source;
    auto [it, fresh] = sources_.try_emplace(source);
    Source& s = it->second;
    if (fresh) {
        s.tokens = rate;  // a burst of one second's worth
        s.refilled = now;
    }
    const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
    s.tokens = std::min(rate, s.tokens + elapsed * rate);
    s.refilled = now;
    if (s.tokens < 1.0) {
        return rdp::Failure{Cause::rate_limited,
                            source + " opens connections faster than " + std::to_string(int(rate)) +
                                " per second ([limits] connections_per_second_per_source)"};
    }
    s.tokens -= 1.0;
    if (handshakes_ >= limits_.max_handshakes) {
        return rdp::Failure{Cause::limit_handshakes,
                            std::to_string(handshakes_) + " handshakes in progress" +
                                of_limit(limits_.max_handshakes, "max_handshakes")};
    }
    if (sessions_ >= limits_.max_sessions) {
        return rdp::Failure{Cause::limit_sessions,
                            std::to_string(sessions_) + " sessions established" +
                                of_limit(limits_.max_sessions, "max_sessions")};
    }
    if (s.sessions + s.handshakes >= limits_.max_sessions_per_source) {
        return rdp::Failure{
            Cause::limit_sessions_per_source,
            source + " already has " + std::to_string(s.sessions) + " session(s) and " +
                std::to_string(s.handshakes) + " handshake(s)" +
                of_limit(limits_.max_sessions_per_source, "max_sessions_per_source")};
    }
    ++s.handshakes;
    ++handshakes_;
    return std::nullopt;
}

void Admission::established(const std::string& source) {
    auto it = sources_.find(source);
    if (it == sources_.end() || it->second.handshakes == 0) return;
    --it->second.handshakes;
    ++it->second.sessions;
    --handshakes_;
    ++sessions_;
}

void Admission::finished(const std::string& source, bool was_established) {
    auto it = sources_.find(source);
    if (it == sources_.end()) return;
    auto& count = was_established ? it->second.sessions : it->second.handshakes;
    if (count == 0) return;
    --count;
    --(was_established ? sessions_ : handshakes_);
}

void Admission::prune(Clock::time_point now) {
    const double rate = limits_.connections_per_second_per_source;
    std::erase_if(sources_, [&](const auto& entry) {
        const Source& s = entry.second;
        const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
        return s.handshakes == 0 && s.sessions == 0 && s.tokens + elapsed * rate >= rate;
    });
}

}  // namespace rdpbridge::proxy

#include "proxy/admission.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "config/cidr.hpp"

namespace rdpbridge::proxy {

namespace {

// Per-source state is forgotten once it holds nothing; checked only past this many sources.
constexpr std::size_t kPruneAbove = 4096;

std::string of_limit(std::size_t value, const char* key) {
    return "; the limit is " + std::to_string(value) + " ([limits] " + key + ")";
}

// How a refusal names the source: the address, and the group it was counted in if that differs.
std::string source_text(const std::string& address, const std::string& key) {
    return key == address ? address
                          : address + " (counted as " + key + ", [limits] ipv6_source_prefix)";
}

}  // namespace

std::string source_key(const std::string& address, int ipv6_prefix) {
    const std::string host = address.substr(0, address.find('%'));  // fe80::1%eth0
    in_addr v4{};
    if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return address;
    in6_addr v6{};
    if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return address;
    char text[INET6_ADDRSTRLEN] = {};
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(&v4, &v6.s6_addr[12], 4);
        return inet_ntop(AF_INET, &v4, text, sizeof text) ? text : address;
    }
    const int prefix = std::clamp(ipv6_prefix, 0, 128);
    for (int bit = prefix; bit < 128; ++bit) v6.s6_addr[bit / 8] &= uint8_t(~(0x80u >> (bit % 8)));
    if (!inet_ntop(AF_INET6, &v6, text, sizeof text)) return address;
    return prefix == 128 ? std::string(text) : std::string(text) + "/" + std::to_string(prefix);
}

namespace {

std::optional<rdp::Failure> address_check(const std::vector<config::Cidr>& allow,
                                          const std::vector<config::Cidr>& deny,
                                          const std::string& source, rdp::Failure refusal) {
    if (allow.empty() && deny.empty()) return std::nullopt;
    const auto address = config::parse_address(source);
    if (address && config::permitted(allow, deny, *address)) return std::nullopt;
    return refusal;
}

}  // namespace

std::optional<rdp::Failure> source_check(const config::Listener& listener,
                                         const std::string& source) {
    return address_check(
        listener.allow, listener.deny, source,
        {rdp::Cause::source_not_allowed, source + " is not allowed on listener " + listener.name});
}

std::optional<rdp::Failure> proxy_source_check(const config::Listener& listener,
                                               const std::string& source) {
    // An empty list admits no balancer (config refuses proxy_protocol without one anyway).
    if (listener.proxy_protocol_from.empty())
        return rdp::Failure{rdp::Cause::proxy_source_not_allowed,
                            "listener " + listener.name + " has no proxy_protocol_from"};
    return address_check(listener.proxy_protocol_from, {}, source,
                         {rdp::Cause::proxy_source_not_allowed,
                          source + " is not in proxy_protocol_from of listener " + listener.name});
}

std::optional<rdp::Failure> Admission::admit(const std::string& source, Clock::time_point now) {
    using rdp::Cause;
    const std::lock_guard lock(mutex_);
    if (sources_.size() > kPruneAbove) prune(now);
    const std::string key = source_key(source, limits_.ipv6_source_prefix);
    const double rate = limits_.connections_per_second_per_source;
    auto [it, fresh] = sources_.try_emplace(key);
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
                            source_text(source, key) + " opens connections faster than " +
                                std::to_string(int(rate)) +
                                " per second ([limits] connections_per_second_per_source)"};
    }
    s.tokens -= 1.0;
    if (handshakes_ >= limits_.max_handshakes) {
        return rdp::Failure{Cause::limit_handshakes,
                            std::to_string(handshakes_) + " handshakes in progress" +
                                of_limit(limits_.max_handshakes, "max_handshakes")};
    }
    if (s.handshakes >= limits_.max_handshakes_per_source) {
        return rdp::Failure{
            Cause::limit_handshakes_per_source,
            source_text(source, key) + " already has " + std::to_string(s.handshakes) +
                " handshake(s) in progress" +
                of_limit(limits_.max_handshakes_per_source, "max_handshakes_per_source")};
    }
    if (sessions_ >= limits_.max_sessions) {
        return rdp::Failure{Cause::limit_sessions,
                            std::to_string(sessions_) + " sessions established" +
                                of_limit(limits_.max_sessions, "max_sessions")};
    }
    if (s.sessions + s.handshakes >= limits_.max_sessions_per_source) {
        return rdp::Failure{
            Cause::limit_sessions_per_source,
            source_text(source, key) + " already has " + std::to_string(s.sessions) +
                " session(s) and " + std::to_string(s.handshakes) + " handshake(s)" +
                of_limit(limits_.max_sessions_per_source, "max_sessions_per_source")};
    }
    ++s.handshakes;
    ++handshakes_;
    return std::nullopt;
}

Admission::Source* Admission::find(const std::string& source) {
    auto it = sources_.find(source_key(source, limits_.ipv6_source_prefix));
    return it == sources_.end() ? nullptr : &it->second;
}

void Admission::established(const std::string& source) {
    const std::lock_guard lock(mutex_);
    Source* s = find(source);
    if (s == nullptr || s->handshakes == 0) return;
    --s->handshakes;
    ++s->sessions;
    --handshakes_;
    ++sessions_;
}

void Admission::finished(const std::string& source, bool was_established) {
    const std::lock_guard lock(mutex_);
    Source* s = find(source);
    if (s == nullptr) return;
    auto& count = was_established ? s->sessions : s->handshakes;
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

// Admission control: the bounds that keep one client — or many — from starving the others.
// Pure bookkeeping with the clock passed in, so it can be tested without sockets or sleeps. One
// Admission counts for every worker loop (its methods lock), so the limits are exact however
// many loops run sessions.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "rdp/diagnosis.hpp"

namespace rdpbridge::proxy {

// The key per-source limits count `address` under: an IPv4 address as it is (an IPv4-mapped
// IPv6 address as its IPv4 form), an IPv6 address as its `ipv6_prefix` network ("2001:db8::/64";
// the address itself at 128, its zone dropped), anything unparsable as given.
std::string source_key(const std::string& address, int ipv6_prefix);

// Who may connect to `listener`, checked before anything else about the connection: its allow /
// deny lists (source_not_allowed).
std::optional<rdp::Failure> source_check(const config::Listener& listener,
                                         const std::string& source);
// Who may send a PROXY header to a proxy_protocol listener: its balancers
// (proxy_source_not_allowed).
std::optional<rdp::Failure> proxy_source_check(const config::Listener& listener,
                                               const std::string& source);

class Admission {
  public:
    using Clock = std::chrono::steady_clock;

    explicit Admission(const config::Limits& limits) : limits_(limits) {}
    // A reload's new limits: counts stay; a lowered limit refuses new connections until the
    // counts fall under it. (The IPv6 prefix keys the counts, so it only changes on restart.)
    void set_limits(const config::Limits& limits) {
        const std::lock_guard lock(mutex_);
        const int prefix = limits_.ipv6_source_prefix;
        limits_ = limits;
        limits_.ipv6_source_prefix = prefix;
    }

    // A new connection from `source` (the client's address as text). On success the connection
    // counts as a handshake until established() or finished(), which take the same text.
    std::optional<rdp::Failure> admit(const std::string& source, Clock::time_point now);
    void established(const std::string& source);
    // The connection ended; `was_established` says which count it leaves.
    void finished(const std::string& source, bool was_established);

    std::size_t handshakes() const {
        const std::lock_guard lock(mutex_);
        return handshakes_;
    }
    std::size_t sessions() const {
        const std::lock_guard lock(mutex_);
        return sessions_;
    }

  private:
    struct Source {
        double tokens = 0;
        Clock::time_point refilled{};
        std::size_t handshakes = 0;
        std::size_t sessions = 0;
    };
    void prune(Clock::time_point now);
    Source* find(const std::string& source);

    mutable std::mutex mutex_;
    config::Limits limits_;
    std::map<std::string, Source> sources_;
    std::size_t handshakes_ = 0;
    std::size_t sessions_ = 0;
};

}  // namespace rdpbridge::proxy

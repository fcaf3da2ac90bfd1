// Prometheus metrics, derived from the handshake log's events: every session and failure already
// ends in exactly one event there, so counting events counts sessions, with no second path
// through the session code that could disagree with the log. Rendered in the text exposition
// format (version 0.0.4), names after Prometheus' conventions: the rdpbridge_ prefix, base units
// (seconds, bytes), _total for counters.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "proxy/handshake_log.hpp"

namespace rdpbridge::proxy {

class Metrics {
  public:
    explicit Metrics(std::string version);

    // One handshake log event (as written, with "event"), from whichever loop wrote it.
    void on_event(const Json& event);

    // Set by the gateway as it changes.
    void set_handshakes_in_progress(std::size_t n) {
        const std::lock_guard lock(mutex_);
        handshakes_in_progress_ = n;
    }
    void set_draining(bool draining) {
        const std::lock_guard lock(mutex_);
        draining_ = draining;
    }
    // Sessions (and handshakes) each worker loop runs now.
    void set_worker_load(std::vector<std::size_t> load) {
        const std::lock_guard lock(mutex_);
        worker_load_ = std::move(load);
    }

    // The whole exposition, process metrics (CPU, RSS, descriptors) read from /proc now.
    std::string render() const;

  private:
    using Labels = std::vector<std::pair<std::string, std::string>>;
    struct Histogram {
        std::vector<uint64_t> buckets;  // cumulative counts are computed at render time
        uint64_t count = 0;
        double sum = 0;
    };

    // Every worker loop's sessions write events: one lock for all counters. An event costs a
    // few map updates under it, far less than the TLS records around it.
    mutable std::mutex mutex_;
    std::string version_;
    std::map<std::string, int64_t> active_;  // backend -> established sessions now
    std::map<std::string, uint64_t> sessions_total_;
    std::map<Labels, uint64_t> failures_;  // backend, stage, cause
    std::map<std::string, Histogram> handshake_seconds_;
    std::map<Labels, uint64_t> bytes_;            // backend, direction
    std::map<Labels, uint64_t> closed_;           // backend, closed_by
    std::map<Labels, uint64_t> channel_refused_;  // backend, what (device, pdu)
    std::map<std::string, Labels> security_;  // backend -> the last session's negotiated security
    std::map<std::string, double> cert_expiry_;  // backend -> notAfter, Unix seconds
    std::map<std::string, uint64_t> refusals_;   // reason
    std::map<std::string, uint64_t> reloads_;    // result
    uint64_t generation_ = 1;
    uint64_t log_dropped_ = 0;
    uint64_t balancer_checks_ = 0;
    std::size_t handshakes_in_progress_ = 0;
    bool draining_ = false;
    std::vector<std::size_t> worker_load_;
};

// The histogram buckets of rdpbridge_handshake_duration_seconds (upper bounds, seconds).
const std::vector<double>& handshake_buckets();

}  // namespace rdpbridge::proxy

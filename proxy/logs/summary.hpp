// Aggregating handshake events into what `rdpbridge logs` reports: per-backend counts and
// handshake times, and failures grouped by (stage, cause). Pure: events in, a Summary out — no
// files, no clock (the --since instant is computed by the caller), so every rule is unit-tested.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "proxy/logs/event.hpp"

namespace rdpbridge::logs {

// Where connections that failed before routing are counted: they have no backend.
inline constexpr std::string_view kNoBackend = "(none)";
inline constexpr std::size_t kMaxExamples = 3;

struct LineRef {
    std::string file;
    std::uint64_t line = 0;
};

struct Filter {
    std::optional<TimePoint> since;      // keep events at or after this instant
    std::optional<TimePoint> until;      // and before this one
    std::optional<std::string> backend;  // keep connections of this backend (or kNoBackend)
};

// What channel policies did to a backend's sessions (README "The handshake log"). None of it is
// a failure: a session stays established while the gateway keeps a channel or a device from
// the host.
struct ChannelStats {
    std::uint64_t sessions = 0;  // sessions under a policy (session_established channel_policy)
    std::map<std::string, std::uint64_t> policies;  // description -> sessions under it
    std::uint64_t sessions_with_removed = 0;        // sessions that had a channel removed
    std::map<std::string, std::uint64_t> removed;   // channel -> sessions it was removed from
    // channel -> sessions whose client sent data on it after it was removed
    std::map<std::string, std::uint64_t> sent_on_removed;
    std::map<std::string, std::uint64_t> devices_refused;  // device type -> devices
    std::map<std::string, std::uint64_t> withheld;         // why (as logged) -> messages withheld
    std::uint64_t pdus_dropped = 0;  // session_closed channel_pdus_dropped, summed

    std::uint64_t devices_refused_total() const;
    std::uint64_t withheld_total() const;
    // A channel removed, a device refused or a message withheld: what the text report shows.
    bool acted() const;
    // Anything at all, a session under a policy that let everything through included.
    bool any() const { return sessions > 0 || acted() || pdus_dropped > 0; }
};

struct BackendStats {
    std::string name;
    std::uint64_t connections = 0;
    std::uint64_t established = 0;  // connections with a session_established event
    std::uint64_t failed = 0;       // connections with a handshake_failed event
    std::uint64_t unfinished = 0;   // neither: still in the handshake, or cut off by the log
    std::size_t timed = 0;          // established connections that carry handshake_ms
    std::optional<double> p50_ms;   // nearest-rank percentiles of handshake_ms
    std::optional<double> p95_ms;
    ChannelStats channels;  // of the connections counted here
};

struct Example {
    std::string conn;
    TimePoint ts;
    std::string detail;
    std::string client;  // from the connection's connection_accepted; empty if not in the files
};

struct FailureGroup {
    std::string stage;
    std::string cause;
    std::uint64_t count = 0;
    std::string explanation;  // from the log lines, else from the vocabulary
    std::string fix;
    TimePoint first_seen;
    TimePoint last_seen;
    std::vector<Example> examples;  // the most recent kMaxExamples, newest first
};

struct Summary {
    BackendStats total;                  // name "all"
    std::vector<BackendStats> backends;  // by name, kNoBackend last
    std::vector<FailureGroup> failures;  // most frequent first
    std::uint64_t events = 0;            // events inside the filter's time window
    std::optional<TimePoint> first_event;
    std::optional<TimePoint> last_event;
    std::uint64_t malformed = 0;
    std::optional<LineRef> first_malformed;
    // Every backend named by an event of the files, in or out of the filter's window, by name:
    // what --backend can select (besides kNoBackend).
    std::vector<std::string> backends_in_files;
    // --backend names a backend that no event names: a typo, or one not used in these files.
    bool backend_unknown = false;
};

// What FileIngest hands each event to, with the line it was parsed from: the Aggregator, or
// the review builder (review_builder.hpp), which reads from the line facts an Event leaves out.
class EventSink {
  public:
    virtual void add_line_event(const Event& e, std::string_view line) = 0;
    // `count` lines that were not events, the first of them at `first`.
    virtual void add_malformed(LineRef first, std::uint64_t count) = 0;

  protected:
    ~EventSink() = default;
};

// Nearest-rank percentile (the smallest value with at least `percent`% of values at or below
// it): always a value that was measured. `sorted` must be ascending and non-empty.
double nearest_rank(const std::vector<double>& sorted, unsigned percent);

class Aggregator : public EventSink {
  public:
    explicit Aggregator(Filter filter = {}) : filter_(std::move(filter)) {}

    // Events may come in any order (files in any order): nothing depends on arrival. An event
    // seen before (files that overlap: a rotated file and a copy of it, or one file given
    // twice) is ignored, so that every number counts it once. True when the event was taken:
    // inside the time window and not seen before (what a reader building on top counts).
    bool add(const Event& e);
    void add_line_event(const Event& e, std::string_view) override { add(e); }
    void add_malformed(LineRef first, std::uint64_t count = 1) override;
    Summary summary() const;
    // The backend a connection's events name so far (kNoBackend if none, or unknown conn).
    std::string backend_of(const std::string& conn) const;
    const Filter& filter() const { return filter_; }

  private:
    // A connection counts once one of its accepted / established / failed events is in the
    // window, so connections >= established + failed always holds, and a session merely
    // closing inside the window is not counted again.
    struct Conn {
        std::string backend;
        std::string client;
        bool counted = false;
        bool established = false;
        bool failed = false;
        std::optional<double> handshake_ms;
        // Its channel policy at work; allocated by the first such event (most connections
        // have none).
        struct Channels {
            std::string policy;
            std::set<std::string> removed;
            std::set<std::string> sent_on_removed;
            std::map<std::string, std::uint64_t> devices_refused;
            std::map<std::string, std::uint64_t> withheld;
            std::uint64_t pdus_dropped = 0;
        };
        std::unique_ptr<Channels> channels;
        // Keys of the events taken (event_key in summary.cpp): a dozen or so per connection.
        std::vector<std::uint64_t> seen;
    };
    struct Group {
        std::uint64_t count = 0;
        std::string explanation;
        std::string fix;
        TimePoint first_seen = TimePoint::max();
        TimePoint last_seen = TimePoint::min();
        std::vector<Example> examples;
    };
    using GroupKey = std::tuple<std::string, std::string, std::string>;  // backend, stage, cause

    bool wanted_backend(const std::string& name) const;
    void add_failure(const Event& e, const std::string& backend);
    static void add_channels(Conn& c, const Event& e);

    Filter filter_;
    std::unordered_map<std::string, Conn> conns_;
    std::map<GroupKey, Group> groups_;
    std::uint64_t events_ = 0;
    std::optional<TimePoint> first_event_, last_event_;
    std::set<std::string> backends_in_files_;
    std::uint64_t malformed_ = 0;
    std::optional<LineRef> first_malformed_;
};

}  // namespace rdpbridge::logs

#include "proxy/logs/summary.hpp"

#include <algorithm>
#include <functional>

#include "proxy/logs/vocabulary.hpp"

namespace rdpbridge::logs {

namespace {

bool newer_first(const Example& a, const Example& b) {
    return a.ts != b.ts ? a.ts > b.ts : a.conn < b.conn;
}

void keep_recent(std::vector<Example>& examples, Example e) {
    examples.push_back(std::move(e));
    std::sort(examples.begin(), examples.end(), newer_first);
    if (examples.size() > kMaxExamples) examples.resize(kMaxExamples);
}

void finish_times(BackendStats& s, std::vector<double>& samples) {
    s.timed = samples.size();
    if (samples.empty()) return;
    std::sort(samples.begin(), samples.end());
    s.p50_ms = nearest_rank(samples, 50);
    s.p95_ms = nearest_rank(samples, 95);
}

bool more_frequent(const FailureGroup& a, const FailureGroup& b) {
    if (a.count != b.count) return a.count > b.count;
    const auto ra = stage_rank(a.stage), rb = stage_rank(b.stage);
    if (ra != rb) return ra < rb;
    return std::tie(a.stage, a.cause) < std::tie(b.stage, b.cause);
}

// Identifies an event among its connection's events: by name for those logged once per
// connection, else by name, ts and distinguishing field. Hashed to 64 bits to keep 8 bytes per
// event; since keys are compared only within one connection, a collision would need two of its
// dozen events to collide (odds about 1e-17).
std::uint64_t event_key(const Event& e) {
    std::string key = e.name;
    if (!once_per_connection(e.name)) {
        key += '\n';
        key += std::to_string(e.ts.time_since_epoch().count());
        key += '\n';
        key += e.distinct;
    }
    return std::hash<std::string>{}(key);
}

// Records the event's key; false if it was there already.
bool first_sighting(std::vector<std::uint64_t>& seen, const Event& e) {
    const auto key = event_key(e);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) return false;
    seen.push_back(key);
    return true;
}

std::uint64_t sum(const std::map<std::string, std::uint64_t>& counts) {
    std::uint64_t n = 0;
    for (const auto& [key, count] : counts) n += count;
    return n;
}

}  // namespace

std::uint64_t ChannelStats::devices_refused_total() const {
    return sum(devices_refused);
}

std::uint64_t ChannelStats::withheld_total() const {
    return sum(withheld);
}

bool ChannelStats::acted() const {
    return sessions_with_removed > 0 || !devices_refused.empty() || !withheld.empty();
}

double nearest_rank(const std::vector<double>& sorted, unsigned percent) {
    // rank = ceil(percent/100 * n), in integers to avoid rounding 0.95 * 20 up to 20.
    const std::size_t n = sorted.size();
    const std::size_t rank = std::max<std::size_t>(1, (percent * n + 99) / 100);
    return sorted[std::min(rank, n) - 1];
}

bool Aggregator::add(const Event& e) {
    if (!e.backend.empty()) backends_in_files_.insert(e.backend);
    // Outside the window too: a failure inside it may have been accepted just before.
    if (!e.client.empty()) conns_[e.conn].client = e.client;
    if (filter_.since && e.ts < *filter_.since) return false;
    if (filter_.until && e.ts >= *filter_.until) return false;
    Conn& c = conns_[e.conn];
    if (!first_sighting(c.seen, e)) return false;
    ++events_;
    if (!first_event_ || e.ts < *first_event_) first_event_ = e.ts;
    if (!last_event_ || e.ts > *last_event_) last_event_ = e.ts;

    if (!e.backend.empty()) c.backend = e.backend;  // routing stage, warning, outcome events
    if (e.name == "connection_accepted") {
        c.counted = true;
    } else if (e.name == "session_established") {
        c.counted = c.established = true;
        if (e.handshake_ms) c.handshake_ms = e.handshake_ms;
    } else if (e.name == "handshake_failed") {
        c.counted = c.failed = true;
        add_failure(e, c.backend.empty() ? std::string(kNoBackend) : c.backend);
    }
    add_channels(c, e);
    return true;
}

void Aggregator::add_channels(Conn& c, const Event& e) {
    const bool policy = e.name == "session_established" && !e.channel_policy.empty();
    const bool bridge =
        e.name == "bridge" && (!e.channels_removed.empty() || !e.channel_data_dropped.empty());
    const bool refused = e.name == "channel_refused";
    const bool closed = e.name == "session_closed" && e.channel_pdus_dropped.has_value();
    if (!policy && !bridge && !refused && !closed) return;
    if (!c.channels) c.channels = std::make_unique<Conn::Channels>();
    auto& ch = *c.channels;
    if (policy) ch.policy = e.channel_policy;
    for (const auto& name : e.channels_removed)
        if (!name.empty()) ch.removed.insert(name);
    if (!e.channel_data_dropped.empty()) ch.sent_on_removed.insert(e.channel_data_dropped);
    if (refused) {
        // A refusal names a device, or says why a whole message was withheld.
        if (!e.device_type.empty())
            ++ch.devices_refused[e.device_type];
        else
            ++ch.withheld[e.reason.empty() ? "(no reason logged)" : e.reason];
    }
    if (closed) ch.pdus_dropped = *e.channel_pdus_dropped;
}

std::string Aggregator::backend_of(const std::string& conn) const {
    const auto it = conns_.find(conn);
    return it == conns_.end() || it->second.backend.empty() ? std::string(kNoBackend)
                                                            : it->second.backend;
}

void Aggregator::add_failure(const Event& e, const std::string& backend) {
    Group& g = groups_[GroupKey{backend, e.stage, e.cause}];
    ++g.count;
    // The newest line's words win: they come from the most recent gateway version.
    const bool newest = e.ts >= g.last_seen;
    if (!e.explanation.empty() && (newest || g.explanation.empty())) g.explanation = e.explanation;
    if (!e.hint.empty() && (newest || g.fix.empty())) g.fix = e.hint;
    g.first_seen = std::min(g.first_seen, e.ts);
    g.last_seen = std::max(g.last_seen, e.ts);
    keep_recent(g.examples, Example{e.conn, e.ts, e.detail, {}});  // client: joined later
}

void Aggregator::add_malformed(LineRef first, std::uint64_t count) {
    if (count == 0) return;
    if (malformed_ == 0) first_malformed_ = std::move(first);
    malformed_ += count;
}

bool Aggregator::wanted_backend(const std::string& name) const {
    return !filter_.backend || *filter_.backend == name;
}

Summary Aggregator::summary() const {
    Summary s;
    s.events = events_;
    s.first_event = first_event_;
    s.last_event = last_event_;
    s.malformed = malformed_;
    s.first_malformed = first_malformed_;
    s.backends_in_files.assign(backends_in_files_.begin(), backends_in_files_.end());
    s.backend_unknown = filter_.backend && *filter_.backend != kNoBackend &&
                        !backends_in_files_.contains(*filter_.backend);

    std::map<std::string, BackendStats> by_backend;
    std::map<std::string, std::vector<double>> times;
    const auto add_channels_to = [](ChannelStats& to, const Conn::Channels& c) {
        if (!c.policy.empty()) {
            ++to.sessions;
            ++to.policies[c.policy];
        }
        to.sessions_with_removed += !c.removed.empty();
        for (const auto& name : c.removed) ++to.removed[name];
        for (const auto& name : c.sent_on_removed) ++to.sent_on_removed[name];
        for (const auto& [type, n] : c.devices_refused) to.devices_refused[type] += n;
        for (const auto& [why, n] : c.withheld) to.withheld[why] += n;
        to.pdus_dropped += c.pdus_dropped;
    };
    std::vector<double> all_times;
    s.total.name = "all";
    for (const auto& [id, c] : conns_) {
        if (!c.counted) continue;
        const std::string name = c.backend.empty() ? std::string(kNoBackend) : c.backend;
        if (!wanted_backend(name)) continue;
        for (BackendStats* b : {&by_backend[name], &s.total}) {
            ++b->connections;
            b->established += c.established;
            b->failed += c.failed;
            b->unfinished += !c.established && !c.failed;
            if (c.channels) add_channels_to(b->channels, *c.channels);
        }
        if (c.established && c.handshake_ms) {
            times[name].push_back(*c.handshake_ms);
            all_times.push_back(*c.handshake_ms);
        }
    }
    for (auto& [name, b] : by_backend) {
        b.name = name;
        finish_times(b, times[name]);
        if (name != kNoBackend) s.backends.push_back(std::move(b));
    }
    if (auto it = by_backend.find(std::string(kNoBackend)); it != by_backend.end())
        s.backends.push_back(std::move(it->second));  // pre-routing failures read best last
    finish_times(s.total, all_times);

    // Merge the per-backend groups of each (stage, cause) that pass the backend filter.
    std::map<std::pair<std::string, std::string>, FailureGroup> merged;
    for (const auto& [key, g] : groups_) {
        const auto& [backend, stage, cause] = key;
        if (!wanted_backend(backend)) continue;
        FailureGroup& m = merged[{stage, cause}];
        const bool first = m.count == 0;
        if (first) {
            m.stage = stage;
            m.cause = cause;
            m.first_seen = g.first_seen;
            m.last_seen = g.last_seen;
        }
        const bool newer = first || g.last_seen >= m.last_seen;
        if (!g.explanation.empty() && (newer || m.explanation.empty()))
            m.explanation = g.explanation;
        if (!g.fix.empty() && (newer || m.fix.empty())) m.fix = g.fix;
        m.count += g.count;
        m.first_seen = std::min(m.first_seen, g.first_seen);
        m.last_seen = std::max(m.last_seen, g.last_seen);
        for (const auto& ex : g.examples) keep_recent(m.examples, ex);
    }
    for (auto& [key, g] : merged) {
        // Joined only now: a connection's accept line may be read after its failure.
        for (auto& ex : g.examples)
            if (const auto it = conns_.find(ex.conn); it != conns_.end())
                ex.client = it->second.client;
        auto words = failure_words(g.cause, g.explanation, g.fix);
        g.explanation = std::move(words.explanation);
        g.fix = std::move(words.fix);
        s.failures.push_back(std::move(g));
    }
    std::sort(s.failures.begin(), s.failures.end(), more_frequent);
    return s;
}

}  // namespace rdpbridge::logs

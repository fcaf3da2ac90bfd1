#include "proxy/logs/review_builder.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "proxy/logs/report.hpp"
#include "proxy/logs/timeline.hpp"
#include "proxy/logs/vocabulary.hpp"

namespace rdpbridge::logs {

namespace {

using Json = nlohmann::json;
using std::chrono::hours;

// A string member, or "" (optional fields never fail a line).
std::string text(const Json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// OpenSSL's protocol names as people write them: "TLSv1" is TLS 1.0.
std::string tls_version_text(const std::string& v) {
    if (v == "TLSv1") return "TLS 1.0";
    if (v.starts_with("TLSv")) return "TLS " + v.substr(4);
    return v;
}

// encryption_methods_to_string's names (rdp/server_security.hpp) as what they mean.
std::string rdp_method_text(const std::string& m) {
    if (m == "40BIT") return "40-bit RC4";
    if (m == "56BIT") return "56-bit RC4";
    if (m == "128BIT") return "128-bit RC4";
    if (m == "FIPS") return "FIPS 3DES";
    if (m == "NONE") return "no encryption";
    return m;
}

// The newer of two events first. At the same millisecond the later connection id wins: a gateway
// numbers its connections in order (fixed-width hex after its run prefix), so the order is that
// of the log, and stable.
bool newer(TimePoint a_ts, const std::string& a_conn, TimePoint b_ts, const std::string& b_conn) {
    return a_ts != b_ts ? a_ts > b_ts : a_conn > b_conn;
}

bool newer_event(const Event& a, const Event& b) {
    return newer(a.ts, a.conn, b.ts, b.conn);
}

// What a refusal says about the host's identity, for the causes that are about it.
const char* identity_refusal(const std::string& cause) {
    if (cause == "host_identity_changed") return "changed, refused";
    if (cause == "host_identity_unknown") return "unknown, refused";
    if (cause == "host_security_downgrade") return "downgrade, refused";
    if (cause == "host_rdp_key_not_pinned") return "RDP key not pinned, refused";
    if (cause == "host_identity_unverified") return "not checked, refused";
    return nullptr;
}

// Whole days, truncated like OpenSSL's ASN1_TIME_diff, so the page agrees with the
// cert_days_left the gateway logs.
long days_between(TimePoint from, TimePoint to) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::days>(to - from).count());
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : separator) + p;
    return s;
}

// The filter in the title, so that a saved page says what it covers, like the text report.
std::string scope_text(const Filter& f) {
    std::vector<std::string> parts;
    if (f.backend) parts.push_back("backend " + *f.backend);
    if (f.since) parts.push_back("since " + format_timestamp(*f.since));
    if (f.until) parts.push_back("until " + format_timestamp(*f.until));
    return parts.empty() ? "" : " (" + join(parts, ", ") + ")";
}

}  // namespace

std::string leg_security(const Json& leg) {
    if (!leg.is_object()) return "";
    const std::string selected = text(leg, "selected");
    if (selected == "RDP") {
        const std::string method = text(leg, "encryption_method");
        return method.empty() ? "Standard RDP Security" : "RDP " + rdp_method_text(method);
    }
    std::string s = tls_version_text(text(leg, "tls_version"));
    if (const std::string cipher = text(leg, "cipher"); !cipher.empty())
        s += (s.empty() ? "" : " ") + cipher;
    if (selected.find("HYBRID") != std::string::npos) s += s.empty() ? "NLA" : " + NLA";
    return s.empty() ? selected : s;
}

void ReviewBuilder::add_line_event(const Event& e, std::string_view line) {
    if (!aggregator_.add(e)) return;  // outside the window, or read before
    const std::string backend = aggregator_.backend_of(e.conn);
    if (e.name == "session_established") {
        take_success(e, line, backend);
    } else if (e.name == "handshake_failed") {
        take_failure(e, line, backend);
        if (const char* state = identity_refusal(e.cause)) take_identity(e, state, true, backend);
    } else if (e.name == "warning") {
        if (e.distinct == "host_identity_learned") take_identity(e, "learned", false, backend);
        if (e.distinct == "host_certificate_renewed")
            take_identity(e, "renewed (same key)", false, backend);
    }
}

void ReviewBuilder::take_success(const Event& e, std::string_view line,
                                 const std::string& backend) {
    const auto it = success_.find(backend);
    if (it != success_.end() && !newer(e.ts, e.conn, it->second.ts, it->second.conn)) return;
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    Success s{e.ts, e.conn, {}, {}, {}};
    if (j.is_object()) {
        s.front = leg_security(j.value("front", Json()));
        const Json back = j.value("back", Json());
        s.back = leg_security(back);
        if (back.is_object()) s.cert_not_after = parse_timestamp(text(back, "cert_not_after"));
    }
    success_[backend] = std::move(s);
}

void ReviewBuilder::take_failure(const Event& e, std::string_view line,
                                 const std::string& backend) {
    auto [it, inserted] = cause_index_.try_emplace(e.cause, std::uint32_t(cause_ids_.size()));
    if (inserted) cause_ids_.push_back(e.cause);
    failures_.push_back({e.ts, e.conn, it->second});

    // Kept per backend, so that a --backend filter applied when building still finds that
    // backend's newest; trimmed in batches to keep adding cheap.
    auto& kept = failed_[backend];
    kept.push_back({e, std::string(line)});
    if (kept.size() >= 2 * kRecentFailures) {
        std::sort(kept.begin(), kept.end(),
                  [](const Failed& a, const Failed& b) { return newer_event(a.event, b.event); });
        kept.resize(kRecentFailures);
    }

    // Words for the #causes section of a cause this build cannot explain itself.
    if (find_cause(e.cause)) return;
    auto& w = logged_words_[e.cause];
    if (!w.words.cause.empty() && w.ts > e.ts) return;
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    const Json sees = j.is_object() ? j.value("client_sees", Json()) : Json();
    w.ts = e.ts;
    w.words = {e.cause, e.explanation, sees.is_object() ? text(sees, "mstsc") : "",
               sees.is_object() ? text(sees, "freerdp") : "", e.hint};
}

void ReviewBuilder::take_identity(const Event& e, std::string state, bool refused,
                                  const std::string& backend) {
    const auto it = identity_.find(backend);
    if (it != identity_.end() && !newer(e.ts, e.conn, it->second.ts, it->second.conn)) return;
    identity_[backend] = Identity{e.ts, e.conn, std::move(state), refused};
}

std::vector<const ReviewBuilder::Failed*> ReviewBuilder::recent(std::size_t limit) const {
    const auto& backend = aggregator_.filter().backend;
    std::vector<const Failed*> all;
    for (const auto& [key, kept] : failed_)
        for (const auto& f : kept)
            if (!backend || *backend == aggregator_.backend_of(f.event.conn)) all.push_back(&f);
    std::sort(all.begin(), all.end(),
              [](const Failed* a, const Failed* b) { return newer_event(a->event, b->event); });
    if (all.size() > limit) all.resize(limit);
    return all;
}

std::vector<review::BackendRow> ReviewBuilder::backend_rows(const Summary& s) const {
    // The newest of each kind per backend as attributed now.
    std::map<std::string, const Success*> success;
    for (const auto& [key, x] : success_) {
        auto& best = success[aggregator_.backend_of(x.conn)];
        if (!best || newer(x.ts, x.conn, best->ts, best->conn)) best = &x;
    }
    std::map<std::string, const Identity*> identity;
    for (const auto& [key, x] : identity_) {
        auto& best = identity[aggregator_.backend_of(x.conn)];
        if (!best || newer(x.ts, x.conn, best->ts, best->conn)) best = &x;
    }
    std::map<std::string, const Failed*> failed;
    for (const auto* f : recent(SIZE_MAX))
        failed.try_emplace(aggregator_.backend_of(f->event.conn), f);

    std::vector<review::BackendRow> rows;
    for (const auto& b : s.backends) {
        review::BackendRow row;
        row.name = b.name;
        row.established = b.established;
        row.failed = b.failed;
        const Success* ok = success.contains(b.name) ? success[b.name] : nullptr;
        const Failed* bad = failed.contains(b.name) ? failed[b.name] : nullptr;
        if (ok) {
            row.last_success = format_timestamp(ok->ts);
            row.front_security = ok->front;
            row.back_security = ok->back;
            if (ok->cert_not_after && s.last_event)
                row.cert_days_left = days_between(*s.last_event, *ok->cert_not_after);
        }
        if (bad) {
            const Event& e = bad->event;
            auto words = failure_words(e.cause, e.explanation, e.hint);
            row.last_failure = review::LastFailure{
                format_timestamp(e.ts), e.stage,  e.cause, std::move(words.explanation),
                std::move(words.fix),   e.detail, e.conn};
        }
        // Connections that failed before routing reached no backend, however many there were.
        if (b.name == kNoBackend || (!ok && !bad))
            row.state = "never reached";
        else
            row.state = !bad || (ok && ok->ts >= bad->event.ts) ? "ok" : "failing";
        if (const auto it = identity.find(b.name); it != identity.end()) {
            const Identity& id = *it->second;
            // A refusal followed by a session: the identity was accepted since (hosts accept).
            row.identity = id.refused && ok && ok->ts > id.ts ? "pinned" : id.state;
        }
        for (const auto& [policy, sessions] : b.channels.policies)
            row.channel_policies.push_back(policy);
        row.channels_kept = channel_policy_text(b.channels);
        rows.push_back(std::move(row));
    }
    return rows;
}

review::Review ReviewBuilder::build(const std::vector<std::string>& files,
                                    const std::string& generated) const {
    const Summary s = aggregator_.summary();
    const Filter& filter = aggregator_.filter();
    review::Review r;
    r.title = "Handshake report: " + join(files, ", ") + scope_text(filter);
    r.generated = generated;
    r.backends = backend_rows(s);
    r.failures_in_window = s.total.failed;

    std::vector<FailureTime> times;
    std::map<std::string, std::uint64_t> per_cause;
    for (const auto& f : failures_) {
        if (filter.backend && *filter.backend != aggregator_.backend_of(f.conn)) continue;
        times.push_back({f.ts, cause_ids_[f.cause]});
        ++per_cause[cause_ids_[f.cause]];
    }
    // "Now" for a report is where its events end: --until, or the newest event.
    const auto until = filter.until   ? filter.until
                       : s.last_event ? std::optional(*s.last_event + std::chrono::milliseconds(1))
                                      : std::nullopt;
    if (until) {
        r.timelines.push_back(
            make_timeline("last 24 h", window_end(*until, hours(1)), hours(1), 24, times));
        r.timelines.push_back(
            make_timeline("last 7 days", window_end(*until, hours(6)), hours(6), 28, times));
    }

    // Most failures first: the order the chart gives its colours in.
    std::vector<std::pair<std::string, std::uint64_t>> order(per_cause.begin(), per_cause.end());
    std::stable_sort(order.begin(), order.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [cause, count] : order) {
        const auto it = logged_words_.find(cause);
        r.causes.push_back(
            cause_info(cause, it != logged_words_.end() ? it->second.words : review::CauseInfo{}));
    }

    for (const auto* f : recent(kRecentFailures)) {
        auto j = review::Json::parse(f->line, nullptr, /*allow_exceptions=*/false);
        if (j.is_object()) r.recent_failures.push_back(std::move(j));
    }
    return r;
}

}  // namespace rdpbridge::logs

// The handshake review (proxy/review/review.hpp) from handshake log events, for `rdpbridge logs
// --html`: each backend's state, last success and failure, security per leg, certificate and
// identity; failures over time by cause; the newest failures, whole. Pure, like the Aggregator
// it builds on (whose window, backend attribution and de-duplication it shares, so the page
// and the text report count alike): events in, a Review out; no files, no clock.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/logs/summary.hpp"
#include "proxy/review/review.hpp"

namespace rdpbridge::logs {

// How many failures the review keeps whole (Review::recent_failures).
inline constexpr std::size_t kRecentFailures = 200;

// How one leg of a session was secured, from a session_established line's "front" or "back"
// object: "TLS 1.3 TLS_AES_256_GCM_SHA384", "TLS 1.2 AES128-SHA + NLA", "RDP 128-bit RC4";
// "" when the object says nothing.
std::string leg_security(const nlohmann::json& leg);

class ReviewBuilder : public EventSink {
  public:
    explicit ReviewBuilder(Filter filter = {}) : aggregator_(std::move(filter)) {}

    void add_line_event(const Event& e, std::string_view line) override;
    void add_malformed(LineRef first, std::uint64_t count) override {
        aggregator_.add_malformed(std::move(first), count);
    }

    // The text report's numbers, over the same events.
    Summary summary() const { return aggregator_.summary(); }
    // `files` and the filter name the report in its title; `generated` (RFC 3339 UTC) is the
    // caller's clock.
    // Timelines end at --until, else at the newest event; certificates' days left are counted
    // to the newest event.
    review::Review build(const std::vector<std::string>& files, const std::string& generated) const;

  private:
    // What is kept is keyed by the backend the connection named when the event was read; the
    // backend is looked up again when building, since files may come in any order. The gateway
    // names the backend on the outcome lines themselves, so the two agree for its logs.
    struct Success {
        TimePoint ts;
        std::string conn;
        std::string front, back;
        std::optional<TimePoint> cert_not_after;
    };
    struct Failed {
        Event event;
        std::string line;  // whole, for recent_failures
    };
    struct Identity {
        TimePoint ts;
        std::string conn;
        std::string state;
        bool refused = false;
    };
    struct FailureRef {
        TimePoint ts;
        std::string conn;
        std::uint32_t cause;  // index into cause_ids_
    };
    struct LoggedWords {
        TimePoint ts;
        review::CauseInfo words;
    };

    void take_success(const Event& e, std::string_view line, const std::string& backend);
    void take_failure(const Event& e, std::string_view line, const std::string& backend);
    void take_identity(const Event& e, std::string state, bool refused, const std::string& backend);
    std::vector<review::BackendRow> backend_rows(const Summary& s) const;
    std::vector<const Failed*> recent(std::size_t limit) const;

    Aggregator aggregator_;
    std::map<std::string, Success> success_;
    std::map<std::string, std::vector<Failed>> failed_;  // each the newest kRecentFailures+
    std::map<std::string, Identity> identity_;
    std::vector<FailureRef> failures_;  // every failure taken, for the timelines
    std::vector<std::string> cause_ids_;
    std::map<std::string, std::uint32_t, std::less<>> cause_index_;
    std::map<std::string, LoggedWords> logged_words_;  // causes this build does not know
};

}  // namespace rdpbridge::logs

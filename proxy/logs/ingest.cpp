#include "proxy/logs/ingest.hpp"

#include <algorithm>

namespace rdpbridge::logs {

namespace {

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

// Sorts a line into an event or a malformed line. Blank lines are neither, and so is a last
// line that does not parse yet: the gateway may be writing it at this very moment.
template <class OnEvent, class OnMalformed>
void dispatch(const Line& line, OnEvent&& on_event, OnMalformed&& on_malformed) {
    if (!line.too_long && blank(line.text)) return;
    auto event = line.too_long ? std::nullopt : parse_event(line.text);
    if (event)
        on_event(*event);
    else if (line.too_long || !line.unterminated) {
        // The gateway's own events (summaries, its stop) belong to no connection: not malformed.
        if (!line.too_long && is_gateway_event(line.text)) return;
        on_malformed();
    }
}

}  // namespace

LineFn FileIngest::lines() {
    return [this](const Line& line) {
        dispatch(
            line,
            [&](const Event& e) {
                ++events_;
                sink_.add_line_event(e, line.text);
            },
            [&] {
                if (malformed_++ == 0) first_malformed_ = line.number;
            });
    };
}

bool FileIngest::finish() {
    if (events_ == 0 && malformed_ > 0) return false;
    if (malformed_ > 0) sink_.add_malformed(LineRef{file_, first_malformed_}, malformed_);
    return true;
}

LineFn FailureFeed::lines_of(std::string file) {
    return [this, file = std::move(file)](const Line& line) {
        dispatch(
            line, [&](const Event& e) { take(e); },
            [&] {
                on_malformed_(LineRef{file, line.number});
            });
    };
}

void FailureFeed::take(const Event& e) {
    if (!e.backend.empty()) routed_[e.conn] = e.backend;
    const bool failed = e.name == "handshake_failed";
    if (failed) {
        const auto it = routed_.find(e.conn);
        const std::string backend = it != routed_.end() ? it->second : std::string(kNoBackend);
        if (!backend_ || *backend_ == backend) on_failure_(e, backend);
    }
    if (failed || e.name == "session_closed") routed_.erase(e.conn);
}

}  // namespace rdpbridge::logs

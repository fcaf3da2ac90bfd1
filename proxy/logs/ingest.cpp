#include "proxy/logs/ingest.hpp"

#include <algorithm>

namespace rdpbridge::logs {

namespace {

bool blank(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t'; });
}

}  // namespace

LineFn summarize_into(Aggregator& aggregator, std::string file) {
    return [&aggregator, file = std::move(file)](const Line& line) {
        if (!line.too_long && blank(line.text)) return;
        auto event = line.too_long ? std::nullopt : parse_event(line.text);
        if (event)
            aggregator.add(*event);
        else
            aggregator.add_malformed(LineRef{file, line.number});
    };
}

LineFn FailureFeed::lines_of(std::string file) {
    return [this, file = std::move(file)](const Line& line) {
        if (!line.too_long && blank(line.text)) return;
        auto event = line.too_long ? std::nullopt : parse_event(line.text);
        if (event)
            take(*event);
        else
            on_malformed_(LineRef{file, line.number});
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

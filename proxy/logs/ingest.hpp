// From lines to events: what `rdpbridge logs` does with each line it reads, for the summary and
// for --follow. Kept apart from the reading (reader, follow) and from the counting (summary).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "proxy/logs/line_splitter.hpp"
#include "proxy/logs/summary.hpp"

namespace rdpbridge::logs {

// Feeds every event of `file` into `aggregator`; counts what is not an event as malformed.
// Blank lines are neither.
LineFn summarize_into(Aggregator& aggregator, std::string file);

// Picks the new failures out of a followed log: attributes each to its backend (the failure
// line's own, or the routing seen earlier for its connection), applies the backend filter and
// hands it on; malformed lines go to on_malformed.
class FailureFeed {
  public:
    using FailureFn = std::function<void(const Event&, const std::string& backend)>;
    using MalformedFn = std::function<void(const LineRef&)>;

    FailureFeed(std::optional<std::string> backend, FailureFn on_failure, MalformedFn on_malformed)
        : backend_(std::move(backend)),
          on_failure_(std::move(on_failure)),
          on_malformed_(std::move(on_malformed)) {}

    LineFn lines_of(std::string file);

  private:
    void take(const Event& e);

    std::optional<std::string> backend_;
    FailureFn on_failure_;
    MalformedFn on_malformed_;
    // Connections routed but not yet over; an entry ends with the connection's last event.
    std::unordered_map<std::string, std::string> routed_;
};

}  // namespace rdpbridge::logs

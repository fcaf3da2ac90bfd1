// From lines to events: what `rdpbridge logs` does with each line it reads, for the summary and
// for --follow. Kept apart from the reading (reader, follow) and from the counting (summary).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include "proxy/logs/line_splitter.hpp"
#include "proxy/logs/summary.hpp"

namespace rdpbridge::logs {

// Feeds the events of one file into a sink (the Aggregator, or the review builder), and decides
// whether the file is a handshake log at all. What is not an event counts as malformed (blank lines
// are neither), but only once the file has ended: a file in which no line was an event
// (/etc/services, a JSON file of other content) is not a handshake log, and its lines are not the
// log's malformed lines.
class FileIngest {
  public:
    FileIngest(EventSink& sink, std::string file) : sink_(sink), file_(std::move(file)) {}
    FileIngest(const FileIngest&) = delete;
    FileIngest& operator=(const FileIngest&) = delete;

    // Valid while this object lives.
    LineFn lines();
    // At the end of the file: false if it held malformed lines and no event (an empty file is
    // a handshake log with nothing in it yet). Otherwise its malformed lines go to the
    // sink.
    bool finish();

  private:
    EventSink& sink_;
    std::string file_;
    std::uint64_t events_ = 0;  // every event read, inside the filter's window or not
    std::uint64_t malformed_ = 0;
    std::uint64_t first_malformed_ = 0;
};

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

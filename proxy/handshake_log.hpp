// The handshake log: one JSON object per line for machines (the file) and one readable line per
// event for people (stderr). Events are built as JSON so both views carry the same facts.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "rdp/diagnosis.hpp"

namespace rdpbridge::proxy {

using Json = nlohmann::ordered_json;

class HandshakeLog {
  public:
    // `file` may be empty: events then go to stderr only. Writing is asynchronous through a
    // bounded queue, so a slow disk never stalls a session; when the queue overflows the oldest
    // events are dropped and counted (dropped()). An event loop only stamps and queues an
    // event: one thread turns queued events into JSON and readable lines, a batch at a time,
    // and is woken once per batch, not per event (each wake-up is a context switch, and a
    // session makes about fifteen events).
    HandshakeLog(const std::optional<std::filesystem::path>& file, const std::string& level,
                 std::size_t rotate_bytes = 50u << 20, std::size_t rotate_files = 5);
    ~HandshakeLog();

    // Writes one event: `event` must hold "event"; "ts" (now) is added in front.
    void write(Json event);
    // Returns once every event and message written before the call is in the file and on stderr.
    void flush();
    // Events lost to a full queue since start.
    std::size_t dropped() const;
    // Called with every event as it is written (the metrics count them), on the thread calling
    // write(), so that no event the queue drops is missing from the counts.
    void observe(std::function<void(const Json&)> observer) { observer_ = std::move(observer); }

    // Operational messages that are not per-connection events. debug: stderr only at
    // `--log-level debug` (or trace), e.g. one line per admin request.
    void debug(const std::string& text);
    void info(const std::string& text);
    void warn(const std::string& text);
    void error(const std::string& text);

  private:
    struct Writer;  // the queue and the writing thread; keeps spdlog out of this header
    std::unique_ptr<Writer> writer_;
    std::function<void(const Json&)> observer_;
};

// The handshake_failed fields every failure carries, from the diagnosis table.
Json failure_fields(rdp::Stage stage, const rdp::Failure& failure);

// A readable one-line rendering of an event, as printed on stderr.
std::string human_line(const Json& event);

// RFC 3339 UTC with milliseconds: how the log writes "ts".
std::string iso_time(std::chrono::system_clock::time_point t);

}  // namespace rdpbridge::proxy

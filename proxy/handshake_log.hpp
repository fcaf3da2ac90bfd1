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

namespace spdlog {
class logger;
}

namespace rdpbridge::proxy {

using Json = nlohmann::ordered_json;

class HandshakeLog {
  public:
    // `file` may be empty: events then go to stderr only. Writing is asynchronous through a
    // bounded queue, so a slow disk never stalls a session; when the queue overflows the oldest
    // events are dropped and counted (dropped()).
    HandshakeLog(const std::optional<std::filesystem::path>& file, const std::string& level,
                 std::size_t rotate_bytes = 50u << 20, std::size_t rotate_files = 5);
    ~HandshakeLog();

    // Writes one event: `event` must hold "event"; "ts" is added here.
    void write(Json event);
    void flush();
    // Events lost to a full queue since start.
    std::size_t dropped() const;
    // Called with every event as it is written (the metrics count them); on the writing thread.
    void observe(std::function<void(const Json&)> observer) { observer_ = std::move(observer); }

    // Operational messages that are not per-connection events.
    void info(const std::string& text);
    void warn(const std::string& text);
    void error(const std::string& text);

  private:
    std::shared_ptr<void> pool_;  // spdlog's thread pool, kept opaque to keep spdlog out of here
    std::shared_ptr<spdlog::logger> file_;
    std::shared_ptr<spdlog::logger> console_;
    std::function<void(const Json&)> observer_;
};

// The handshake_failed fields every failure carries, from the diagnosis table.
Json failure_fields(rdp::Stage stage, const rdp::Failure& failure);

// A readable one-line rendering of an event, as printed on stderr.
std::string human_line(const Json& event);

}  // namespace rdpbridge::proxy

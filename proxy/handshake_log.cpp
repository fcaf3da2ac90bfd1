#include "proxy/handshake_log.hpp"

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <utility>

#include "proxy/log_escape.hpp"

namespace rdpbridge::proxy {

namespace {

std::string now_iso() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t t = system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(ms));
    return buf;
}

// Objects and arrays rendered like JSON, but with each string escaped by our rules rather than
// dumped: json::dump would throw on a peer's invalid UTF-8, and would print it raw otherwise.
std::string nested_text(const Json& v) {
    if (v.is_string()) return quote_for_log(v.get_ref<const std::string&>());
    if (!v.is_structured()) return v.dump();
    std::string s(1, v.is_object() ? '{' : '[');
    bool first = true;
    for (const auto& [k, item] : v.items()) {
        if (!std::exchange(first, false)) s += ',';
        if (v.is_object()) s.append(quote_for_log(k)).append(":");
        s += nested_text(item);
    }
    s += v.is_object() ? '}' : ']';
    return s;
}

// Every value may carry a peer's bytes (a cookie, a host's error text), so every value is
// escaped: one event stays one line, and no byte of it reaches the terminal as a control.
std::string value_text(const Json& v) {
    return v.is_string() ? escape_for_log(v.get_ref<const std::string&>()) : nested_text(v);
}

// Keys printed in the lead of a human line rather than as key=value pairs.
bool is_lead_key(const std::string& k) {
    return k == "ts" || k == "conn" || k == "event" || k == "explanation" || k == "hint" ||
           k == "detail" || k == "client_sees";
}

}  // namespace

namespace {

constexpr std::size_t kQueueSize = 16384;  // events; about 10 MB at the longest lines

spdlog::details::thread_pool& pool_of(const std::shared_ptr<void>& p) {
    return *static_cast<spdlog::details::thread_pool*>(p.get());
}

}  // namespace

HandshakeLog::HandshakeLog(const std::optional<std::filesystem::path>& file,
                           const std::string& level, std::size_t rotate_bytes,
                           std::size_t rotate_files) {
    auto pool = std::make_shared<spdlog::details::thread_pool>(kQueueSize, 1);
    pool_ = pool;
    console_ = std::make_shared<spdlog::async_logger>(
        "rdpbridge", std::make_shared<spdlog::sinks::stderr_sink_mt>(), pool,
        spdlog::async_overflow_policy::overrun_oldest);
    console_->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %v");
    console_->set_level(spdlog::level::from_str(level));
    console_->flush_on(spdlog::level::trace);
    if (file) {
        if (file->has_parent_path()) std::filesystem::create_directories(file->parent_path());
        // handshake.jsonl rotates to handshake.1.jsonl ... handshake.N.jsonl.
        file_ = std::make_shared<spdlog::async_logger>(
            "handshake",
            std::make_shared<spdlog::sinks::rotating_file_sink_mt>(file->string(), rotate_bytes,
                                                                   rotate_files),
            pool, spdlog::async_overflow_policy::overrun_oldest);
        file_->set_pattern("%v");
        file_->flush_on(spdlog::level::info);
    }
}

HandshakeLog::~HandshakeLog() {
    flush();
    // The pool first: its destructor lets the worker thread write every queued message, then
    // joins it. Queued messages hold references to their logger, so destroying the pool before
    // the loggers means the loggers die here, on this thread, after the join, rather than on
    // the worker when it drops the last reference (which ThreadSanitizer cannot follow: the
    // worker's reference counting runs in the uninstrumented libspdlog).
    pool_.reset();
    file_.reset();
    console_.reset();
}

std::size_t HandshakeLog::dropped() const {
    return pool_of(pool_).overrun_counter();
}

void HandshakeLog::write(Json event) {
    Json line{{"ts", now_iso()}};
    line.update(event);
    if (observer_) observer_(line);
    if (file_) file_->info(line.dump(-1, ' ', false, Json::error_handler_t::replace));
    // On stderr a person reads one line per connection, session and failure; the step-by-step
    // `stage` and `bridge` events (a dozen per session, all in the JSON log) only at debug level.
    const auto& name = line["event"];
    // Warnings at warn, except learning a host (expected on a first contact) and repeats of a
    // backend fact already warned about (every connection to an XP host has "no NLA").
    const auto warning_level = [&line] {
        if (line.value("repeat", false)) return spdlog::level::debug;
        return line.value("warning", "") == "host_identity_learned" ? spdlog::level::info
                                                                    : spdlog::level::warn;
    };
    const auto level = name == "handshake_failed"            ? spdlog::level::warn
                       : name == "warning"                   ? warning_level()
                       : name == "stage" || name == "bridge" ? spdlog::level::debug
                                                             : spdlog::level::info;
    if (console_->should_log(level)) console_->log(level, human_line(line));
}

void HandshakeLog::flush() {
    if (file_) file_->flush();
    console_->flush();
}

void HandshakeLog::info(const std::string& text) {
    console_->info(text);
}
void HandshakeLog::warn(const std::string& text) {
    console_->warn(text);
}
void HandshakeLog::error(const std::string& text) {
    console_->error(text);
}

Json failure_fields(rdp::Stage stage, const rdp::Failure& failure) {
    const auto& info = rdp::describe(failure.cause);
    Json j;
    j["event"] = "handshake_failed";
    j["stage"] = std::string(rdp::to_string(stage));
    j["cause"] = std::string(info.id);
    j["detail"] = failure.detail;
    j["explanation"] = std::string(info.explanation);
    j["client_sees"] = {{"mstsc", std::string(info.mstsc)}, {"freerdp", std::string(info.freerdp)}};
    j["hint"] = std::string(info.fix);
    return j;
}

std::string human_line(const Json& event) {
    std::string s;
    if (event.contains("conn")) s.append("[").append(value_text(event["conn"])).append("] ");
    s.append(value_text(event.value("event", Json("event"))));
    for (const auto& [k, v] : event.items()) {
        if (is_lead_key(k)) continue;
        s.append(" ").append(escape_for_log(k)).append("=").append(value_text(v));
    }
    if (event.contains("explanation")) s.append(" — ").append(value_text(event["explanation"]));
    if (event.contains("detail") && !value_text(event["detail"]).empty())
        s.append(" (").append(value_text(event["detail"])).append(")");
    if (event.contains("hint")) s.append(" Fix: ").append(value_text(event["hint"]));
    return s;
}

}  // namespace rdpbridge::proxy

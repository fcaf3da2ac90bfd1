#include "proxy/handshake_log.hpp"

#include <spdlog/details/log_msg.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/rotating_file_sink.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "proxy/log_escape.hpp"

namespace rdpbridge::proxy {

namespace {

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

// The queue between the event loops and the one thread that formats and writes. Loops only
// stamp and append; the writer takes everything queued at once, formats it, writes it, flushes
// once, and sleeps only when the queue is empty. A loop wakes the writer only when it finds it
// asleep or fills a batch, so under load one wake-up (and one write to the file) serves many
// events.
struct HandshakeLog::Writer {
    struct Entry {
        spdlog::log_clock::time_point time;
        spdlog::level::level_enum level;  // messages; events get theirs from their content
        Json event;                       // an event, or null for a message
        std::string text;                 // a message
    };

    Writer(const std::optional<std::filesystem::path>& file, const std::string& level,
           std::size_t rotate_bytes, std::size_t rotate_files);
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;

    void push(Entry entry);
    void flush();
    std::size_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  private:
    void run();
    void write(const Entry& entry);
    void write_event(spdlog::log_clock::time_point time, const Json& event);
    void to_console(spdlog::log_clock::time_point time, spdlog::level::level_enum level,
                    std::string_view text);
    void flush_sinks();

    std::shared_ptr<spdlog::sinks::sink> file_;
    // stderr is unbuffered: a batch's readable lines are formatted into one buffer and written
    // with one call, rather than one write(2) per line.
    spdlog::pattern_formatter console_format_{"%Y-%m-%d %H:%M:%S.%e %^%l%$ %v"};
    spdlog::level::level_enum console_level_;
    spdlog::memory_buf_t console_batch_;  // writer thread only

    std::mutex mutex_;
    std::condition_variable wake_;     // the writer, when it has nothing to do
    std::condition_variable written_;  // flush() callers
    std::deque<Entry> queue_;
    uint64_t queued_ = 0;  // entries ever queued
    uint64_t done_ = 0;    // entries written or dropped
    bool asleep_ = false;  // the writer waits on wake_ and must be notified
    bool stopping_ = false;
    int flushing_ = 0;           // flush() callers waiting on written_
    bool write_failed_ = false;  // writer thread only: a failing disk is reported once
    std::atomic<std::size_t> dropped_{0};
    std::thread thread_;  // last: it starts once everything above exists
};

namespace {

constexpr std::size_t kQueueSize = 16384;  // entries; about 10 MB at the longest lines
// How long the writer, woken by the first event of a burst, waits for more before writing, and
// how many entries end that wait at once. An event reaches the file this much later, at most.
constexpr std::chrono::milliseconds kGather{5};
constexpr std::size_t kBatch = 256;

// The JSON line: "ts" first, then the event's own keys in their order. Splicing the dumped
// event is cheaper than copying it into a new object just to put a key in front.
std::string json_line(spdlog::log_clock::time_point time, const Json& event) {
    const std::string body = event.dump(-1, ' ', false, Json::error_handler_t::replace);
    std::string line = "{\"ts\":\"" + iso_time(time) + "\"";
    if (event.is_object() && body.size() > 2) {
        line.append(",").append(body, 1);
    } else {
        line.append("}");
    }
    return line;
}

spdlog::level::level_enum console_level(const Json& event) {
    const auto& name = event.value("event", "");
    // On stderr a person reads one line per connection, session and failure; the step-by-step
    // `stage` and `bridge` events (a dozen per session, all in the JSON log) only at debug level.
    if (name == "handshake_failed") return spdlog::level::warn;
    if (name == "stage" || name == "bridge") return spdlog::level::debug;
    if (name == "balancer_check") return spdlog::level::debug;  // every few seconds, by design
    if (name != "warning") return spdlog::level::info;
    // Warnings at warn, except learning a host (expected on a first contact) and repeats of a
    // backend fact already warned about (every connection to an XP host has "no NLA").
    if (event.value("repeat", false)) return spdlog::level::debug;
    return event.value("warning", "") == "host_identity_learned" ? spdlog::level::info
                                                                 : spdlog::level::warn;
}

}  // namespace

HandshakeLog::Writer::Writer(const std::optional<std::filesystem::path>& file,
                             const std::string& level, std::size_t rotate_bytes,
                             std::size_t rotate_files) {
    console_level_ = spdlog::level::from_str(level);
    if (file) {
        if (file->has_parent_path()) std::filesystem::create_directories(file->parent_path());
        // handshake.jsonl rotates to handshake.1.jsonl ... handshake.N.jsonl.
        file_ = std::make_shared<spdlog::sinks::rotating_file_sink_st>(file->string(), rotate_bytes,
                                                                       rotate_files);
        file_->set_pattern("%v");
    }
    thread_ = std::thread([this] { run(); });
}

HandshakeLog::Writer::~Writer() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_one();
    thread_.join();  // the writer empties the queue first
}

void HandshakeLog::Writer::push(Entry entry) {
    bool wake = false;
    {
        const std::lock_guard lock(mutex_);
        ++queued_;
        if (queue_.size() >= kQueueSize) {
            queue_.pop_front();
            ++done_;
            dropped_.fetch_add(1, std::memory_order_relaxed);
        }
        queue_.push_back(std::move(entry));
        wake = std::exchange(asleep_, false) || queue_.size() == kBatch;
    }
    if (wake) wake_.notify_one();
}

void HandshakeLog::Writer::flush() {
    std::unique_lock lock(mutex_);
    const uint64_t target = queued_;
    ++flushing_;
    wake_.notify_one();  // a writer gathering a batch writes it now
    written_.wait(lock, [&] { return done_ >= target; });
    --flushing_;
}

void HandshakeLog::Writer::run() {
    std::deque<Entry> batch;
    std::unique_lock lock(mutex_);
    for (;;) {
        if (queue_.empty()) {
            if (stopping_) return;
            asleep_ = true;
            wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
            asleep_ = false;
            // The first event of a burst (a session makes about fifteen, and sessions come in
            // storms): let the rest of it arrive, so that one write and one wake-up serve them
            // all. A full batch, a flush() or stopping ends the wait early.
            wake_.wait_for(lock, kGather,
                           [&] { return queue_.size() >= kBatch || flushing_ > 0 || stopping_; });
            continue;
        }
        batch.swap(queue_);
        lock.unlock();
        for (const auto& entry : batch) write(entry);
        flush_sinks();
        const std::size_t n = batch.size();
        batch.clear();
        lock.lock();
        done_ += n;
        if (flushing_) written_.notify_all();
    }
}

void HandshakeLog::Writer::write(const Entry& entry) {
    try {
        if (entry.event.is_null()) {
            to_console(entry.time, entry.level, entry.text);
        } else {
            write_event(entry.time, entry.event);
        }
        write_failed_ = false;
    } catch (const std::exception& e) {
        // A full disk or a removed directory: say so once, keep serving sessions.
        if (!std::exchange(write_failed_, true))
            std::fprintf(stderr, "rdpbridge: cannot write the handshake log: %s\n", e.what());
    }
}

void HandshakeLog::Writer::write_event(spdlog::log_clock::time_point time, const Json& event) {
    if (file_) {
        const std::string line = json_line(time, event);
        file_->log(spdlog::details::log_msg(time, {}, "handshake", spdlog::level::info, line));
    }
    const auto level = console_level(event);
    if (level >= console_level_) to_console(time, level, human_line(event));
}

void HandshakeLog::Writer::to_console(spdlog::log_clock::time_point time,
                                      spdlog::level::level_enum level, std::string_view text) {
    if (level < console_level_) return;
    console_format_.format(spdlog::details::log_msg(time, {}, "rdpbridge", level, text),
                           console_batch_);
}

void HandshakeLog::Writer::flush_sinks() {
    try {
        if (file_) file_->flush();
    } catch (const std::exception&) {
        // A failed line was reported by write(); a failed flush alone retries with the next
        // batch.
    }
    if (console_batch_.size()) {
        std::fwrite(console_batch_.data(), 1, console_batch_.size(), stderr);
        std::fflush(stderr);
        console_batch_.clear();
    }
}

HandshakeLog::HandshakeLog(const std::optional<std::filesystem::path>& file,
                           const std::string& level, std::size_t rotate_bytes,
                           std::size_t rotate_files)
    : writer_(std::make_unique<Writer>(file, level, rotate_bytes, rotate_files)) {}

HandshakeLog::~HandshakeLog() = default;

std::size_t HandshakeLog::dropped() const {
    return writer_->dropped();
}

void HandshakeLog::write(Json event) {
    const auto now = spdlog::log_clock::now();
    if (observer_) observer_(event);
    writer_->push({now, spdlog::level::info, std::move(event), {}});
}

void HandshakeLog::flush() {
    writer_->flush();
}

void HandshakeLog::debug(const std::string& text) {
    writer_->push({spdlog::log_clock::now(), spdlog::level::debug, nullptr, text});
}
void HandshakeLog::info(const std::string& text) {
    writer_->push({spdlog::log_clock::now(), spdlog::level::info, nullptr, text});
}
void HandshakeLog::warn(const std::string& text) {
    writer_->push({spdlog::log_clock::now(), spdlog::level::warn, nullptr, text});
}
void HandshakeLog::error(const std::string& text) {
    writer_->push({spdlog::log_clock::now(), spdlog::level::err, nullptr, text});
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

std::string iso_time(std::chrono::system_clock::time_point now) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    const std::time_t t = system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(ms));
    return buf;
}

}  // namespace rdpbridge::proxy

// Scenario: the status page. The issue promises that GET / renders in under 100 ms of server time
// with 100,000 events in the 7-day window, and that the window's memory is bounded. The bench
// writes a synthetic handshake log in the gateway's own format, starts the gateway on it three
// times (no events, a tenth, all: read at start, as after a restart) and asks each for the page
// over plain HTTP, reading the Server-Timing the gateway reports and the RSS it holds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <regex>

#include "bench/percentile.hpp"
#include "bench/proc_stats.hpp"
#include "bench/scenarios.hpp"
#include "rdp/diagnosis.hpp"

namespace rdpbridge::bench {

namespace {

using WallClock = std::chrono::system_clock;
using OrderedJson = nlohmann::ordered_json;  // the gateway writes its keys in this order

constexpr std::size_t kBackends = 20;
constexpr std::size_t kCauses = 30;
constexpr double kMiB = double(1 << 20);

// "2026-12-05T15:50:45.123Z", as the gateway's iso_time writes it (the bench does not link the
// proxy library).
std::string iso_time(WallClock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    const std::time_t secs = WallClock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(ms));
    return buf;
}

// Real text cut or padded to the length a logged field has in practice.
std::string sized(std::string text, std::size_t length) {
    if (text.empty()) text = "-";
    while (text.size() < length) text += " " + text;
    text.resize(length);
    return text;
}

std::string backend_name(std::size_t i) {
    char name[16];
    std::snprintf(name, sizeof name, "host-%02zu", i % kBackends + 1);
    return name;
}

OrderedJson failure_event(std::size_t i, const std::string& ts, const rdp::CauseInfo& cause) {
    // Stages a failure past the client's first bytes has; client_transport refusals are
    // admission's and not on the page.
    static const rdp::Stage kStages[] = {
        rdp::Stage::backend_connect, rdp::Stage::backend_negotiation, rdp::Stage::front_tls,
        rdp::Stage::backend_tls,     rdp::Stage::backend_nla,         rdp::Stage::mcs_gcc,
        rdp::Stage::licensing};
    const auto stage = kStages[std::size_t(cause.cause) % std::size(kStages)];
    char detail[96];
    std::snprintf(detail, sizeof detail, "10.20.%zu.%zu:3389 answered after %zu ms: ", i % 250,
                  i % kBackends + 10, i % 900 + 3);
    return {{"ts", ts},
            {"conn", "5e1d00-" + std::to_string(i)},
            {"event", "handshake_failed"},
            {"stage", std::string(rdp::to_string(stage))},
            {"cause", std::string(cause.id)},
            {"explanation", sized(std::string(cause.explanation), 150)},
            {"hint", sized(std::string(cause.fix), 150)},
            {"detail", sized(detail + std::string(cause.freerdp), 80)},
            {"backend", backend_name(i)}};
}

OrderedJson established_event(std::size_t i, const std::string& ts) {
    return {{"ts", ts},
            {"conn", "5e1d00-" + std::to_string(i)},
            {"event", "session_established"},
            {"backend", backend_name(i)},
            {"handshake_ms", 40.0 + double(i % 200)},
            {"front",
             {{"tls_version", "TLSv1.3"},
              {"cipher", "TLS_AES_256_GCM_SHA384"},
              {"tls_resumed", false},
              {"requested", "SSL|HYBRID"},
              {"selected", "SSL"}}},
            {"back",
             {{"tls_version", "TLSv1"},
              {"cipher", "AES256-SHA"},
              {"tls_resumed", false},
              {"selected", "SSL"},
              {"cert_days_left", 300}}}};
}

// `count` events spread evenly over the week before `now`, one in five established, the rest
// failures over 30 real causes and 20 backends. The oldest hour is left empty: the gateway reads
// the log later than it was written, and an event that slid out of its window would miss the
// count the scenario checks.
void write_log(const std::filesystem::path& path, std::size_t count, WallClock::time_point now) {
    // Spread over the whole vocabulary, client side to bridged session.
    const auto all = rdp::all_causes();
    std::vector<const rdp::CauseInfo*> causes;
    for (std::size_t c = 0; c < std::min(kCauses, all.size()); ++c)
        causes.push_back(&all[c * all.size() / std::min(kCauses, all.size())]);
    const auto first = now - std::chrono::hours(7 * 24 - 1);
    const auto step = (now - std::chrono::minutes(1) - first) / std::max<std::size_t>(count, 1);
    std::ofstream out(path);
    for (std::size_t i = 0; i < count; ++i) {
        const std::string ts = iso_time(first + step * i);
        const OrderedJson event = i % 5 == 4 ? established_event(i, ts)
                                             : failure_event(i, ts, *causes[i % causes.size()]);
        out << event.dump() << '\n';
    }
    if (!out) throw std::runtime_error("status: cannot write " + path.string());
}

struct HttpAnswer {
    int status = 0;
    double server_ms = -1;  // Server-Timing render;dur, -1 when absent
    double client_ms = 0;   // connect to the last byte
    std::size_t body_bytes = 0;
};

// One request on its own connection (the admin endpoint answers one per connection), blocking.
HttpAnswer http_get(uint16_t port, const std::string& path) {
    const auto started = std::chrono::steady_clock::now();
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("status: socket: " + std::string(std::strerror(errno)));
    const timeval limit{10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string request =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    std::string response;
    bool ok = connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
              send(fd, request.data(), request.size(), MSG_NOSIGNAL) == ssize_t(request.size());
    for (char buf[65536]; ok;) {
        const ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        ok = n >= 0;
        if (n <= 0) break;
        response.append(buf, std::size_t(n));
    }
    const int error = errno;
    close(fd);
    if (!ok) throw std::runtime_error("status: GET " + path + ": " + std::strerror(error));

    HttpAnswer answer;
    answer.client_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    static const std::regex status_line(R"(^HTTP/1\.[01] (\d{3}))");
    static const std::regex timing(R"(\r\nServer-Timing: render;dur=([0-9.]+))", std::regex::icase);
    const auto head_end = response.find("\r\n\r\n");
    const std::string head = response.substr(0, head_end);
    std::smatch m;
    if (head_end == std::string::npos || !std::regex_search(head, m, status_line))
        throw std::runtime_error("status: GET " + path + ": no HTTP response");
    answer.status = std::stoi(m[1]);
    if (std::regex_search(head, m, timing)) answer.server_ms = std::stod(m[1]);
    answer.body_bytes = response.size() - head_end - 4;
    return answer;
}

struct Timings {
    std::vector<int64_t> server_us, client_us;
    std::size_t bytes = 0;

    double server_ms(double p) const { return double(percentile(server_us, p)) / 1000; }
    double client_ms(double p) const { return double(percentile(client_us, p)) / 1000; }
};

// `times` GETs of `path`; each must be a 200 with the gateway's Server-Timing.
Timings get_repeatedly(uint16_t port, const std::string& path, std::size_t times) {
    Timings t;
    for (std::size_t i = 0; i < times; ++i) {
        const HttpAnswer a = http_get(port, path);
        if (a.status != 200 || a.server_ms < 0)
            throw std::runtime_error("status: GET " + path + " answered " +
                                     std::to_string(a.status) +
                                     (a.server_ms < 0 ? " without Server-Timing" : ""));
        t.server_us.push_back(int64_t(a.server_ms * 1000));
        t.client_us.push_back(int64_t(a.client_ms * 1000));
        t.bytes = a.body_bytes;
    }
    return t;
}

struct Run {
    std::size_t events = 0;
    double seed_seconds = 0;
    uint64_t rss_started = 0;   // right after start: the seeded window, nothing rendered
    uint64_t rss_rendered = 0;  // after the renders
    Timings page, api;
};

// The gateway's own account of the seed; a count other than the log's means the log or its
// window is not what the scenario thinks, and the figures would describe another load.
double seed_seconds(const GatewayProcess& gateway, std::size_t expected) {
    static const std::regex seeded(
        R"(status page: (\d+) events of the last 7 days read from the handshake log in ([0-9.]+) s)");
    std::smatch m;
    if (!std::regex_search(gateway.startup_output(), m, seeded))
        throw std::runtime_error("status: the gateway did not report reading its handshake log");
    if (std::stoull(m[1]) != expected)
        throw std::runtime_error("status: the gateway read " + m[1].str() +
                                 " events, the log has " + std::to_string(expected));
    return std::stod(m[2]);
}

Run measure(const Bench& bench, const std::string& name, const std::filesystem::path& log,
            std::size_t events) {
    const auto& s = bench.settings.status;
    // No session is made: the target port is never dialled.
    auto launch = bench.gateway(name, 9);
    launch.admin = true;
    launch.seed_log = log;
    GatewayProcess gateway(launch);
    Run run;
    run.events = events;
    run.seed_seconds = seed_seconds(gateway, events);
    run.rss_started = rss_bytes(gateway.pid());
    run.page = get_repeatedly(gateway.admin_port(), "/", s.renders);
    run.api = get_repeatedly(gateway.admin_port(), "/api/review", s.api_renders);
    run.rss_rendered = rss_bytes(gateway.pid());
    gateway.check_alive();
    gateway.stop();
    return run;
}

Json run_json(const Run& r) {
    return {{"events", r.events},
            {"seed_seconds", r.seed_seconds},
            {"rss_started_bytes", r.rss_started},
            {"rss_after_renders_bytes", r.rss_rendered},
            {"page_server_ms_median", r.page.server_ms(0.5)},
            {"page_client_ms_median", r.page.client_ms(0.5)},
            {"page_bytes", r.page.bytes},
            {"api_review_server_ms_median", r.api.server_ms(0.5)},
            {"api_review_bytes", r.api.bytes}};
}

void add_render_row(const Bench& bench, const Run& full, const Json& runs) {
    const double limit = bench.settings.status.render_limit_ms;
    Row row;
    row.id = "status.render";
    row.figure = "status page: server time to render GET / with " + std::to_string(full.events) +
                 " events in the 7-day window (median of " +
                 std::to_string(full.page.server_us.size()) + ")";
    row.value = full.page.server_ms(0.5);
    row.unit = "ms";
    row.bound = limit;
    row.bound_what = "issue limit";
    row.ratio = row.value / limit;
    row.target = "≤ 100 %";
    row.met = row.ratio <= 1.0;
    row.details = {{"server_ms_p95", full.page.server_ms(0.95)},
                   {"server_ms_max", full.page.server_ms(1.0)},
                   {"client_ms_median", full.page.client_ms(0.5)},
                   {"client_ms_p95", full.page.client_ms(0.95)},
                   {"page_bytes", full.page.bytes},
                   {"api_review_server_ms_median", full.api.server_ms(0.5)},
                   {"api_review_client_ms_median", full.api.client_ms(0.5)},
                   {"api_review_bytes", full.api.bytes},
                   {"load_average_1m", load_average()},
                   {"runs", runs}};
    bench.report.add(std::move(row));
}

void add_memory_row(const Bench& bench, const Run& none, const Run& tenth, const Run& full,
                    const Json& runs) {
    const double budget = double(bench.settings.status.memory_budget);
    const auto growth = [](const Run& from, const Run& to) {
        return double(int64_t(to.rss_started) - int64_t(from.rss_started));
    };
    Row row;
    row.id = "status.memory";
    row.figure = "status page: gateway RSS growth for the 7-day window, " +
                 std::to_string(full.events) + " events vs none";
    row.value = growth(none, full) / kMiB;
    row.unit = "MiB";
    row.bound = budget / kMiB;
    row.bound_what = "bounded: hourly counters + 200 newest failures";
    row.ratio = growth(none, full) / budget;
    row.target = "≤ 100 %";
    row.met = row.ratio <= 1.0;
    // Bounded means the growth stops: a tenth of the events should cost about as much as all.
    row.details = {{"rss_empty_mib", double(none.rss_started) / kMiB},
                   {"rss_tenth_mib", double(tenth.rss_started) / kMiB},
                   {"rss_full_mib", double(full.rss_started) / kMiB},
                   {"tenth_events", tenth.events},
                   {"growth_full_vs_tenth_mib", growth(tenth, full) / kMiB},
                   {"rss_full_after_renders_mib", double(full.rss_rendered) / kMiB},
                   {"runs", runs}};
    bench.report.add(std::move(row));
}

}  // namespace

void run_status(const Bench& bench) {
    const std::size_t n = bench.settings.status.events;
    const auto dir = bench.settings.work_dir / "status";
    std::filesystem::create_directories(dir);
    const auto now = WallClock::now();
    const auto empty_log = dir / "empty.jsonl", tenth_log = dir / "tenth.jsonl",
               full_log = dir / "full.jsonl";
    write_log(empty_log, 0, now);
    write_log(tenth_log, n / 10, now);
    write_log(full_log, n, now);

    // One after the other, each stopped before the next, so that each RSS is its own.
    const Run none = measure(bench, "status-empty", empty_log, 0);
    const Run tenth = measure(bench, "status-tenth", tenth_log, n / 10);
    const Run full = measure(bench, "status-full", full_log, n);
    const Json runs = Json::array({run_json(none), run_json(tenth), run_json(full)});
    add_render_row(bench, full, runs);
    add_memory_row(bench, none, tenth, full, runs);
}

}  // namespace rdpbridge::bench

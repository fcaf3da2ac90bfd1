// Scenario 5, handshake logging under a relay: one saturated relay session (the relay scenario's
// peers) is measured twice through the same gateway process, for the same time: alone (the
// baseline), then while a flood of connections that send garbage from many loopback addresses
// makes the gateway write handshake events (connection_accepted + handshake_failed each). The
// figures are the relay's bytes per wall-second and per gateway CPU-second under the flood as a
// share of the baseline. The flood also costs the gateway accepts, reads and closes, so the loss
// is an upper bound on what writing the events costs.
#include <netinet/in.h>

#include <array>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <unordered_set>

#include "bench/asio.hpp"
#include "bench/proc_stats.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"

namespace rdpbridge::bench {

namespace {

using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// A scanner's first words: not RDP, so the gateway logs handshake_failed (client_spoke_http)
// right after connection_accepted and closes the connection.
constexpr std::string_view kGarbage = "GET / HTTP/1.1\r\nHost: rdpbridge\r\n\r\n";

// Flood sources are 127.2.x.y, one address per connection (62,500 before they repeat): apart
// from the relay client's 127.1.x.y, so the flood's events can be told apart in the log.
constexpr std::string_view kFloodPrefix = "127.2.";

asio::ip::address_v4 flood_source(std::size_t i) {
    constexpr std::size_t kSources = 250 * 250;
    const std::size_t a = i % kSources;
    return asio::ip::address_v4((127u << 24) | (2u << 16) | uint32_t(a / 250) << 8 |
                                uint32_t(1 + a % 250));
}

struct FloodResult {
    std::size_t done = 0;    // garbage sent, then closed by the gateway
    std::size_t failed = 0;  // anything else
    std::size_t unfinished = 0;
    double seconds = 0;  // from the start to the last connection's end
    std::string first_error;
};

// The flood on its own thread (not the relay peers'), so that it slows the relay only through
// the gateway and the shared cores. `count` connections are paced evenly over `seconds`, with
// at most `concurrency` open at once; each sends kGarbage and waits for the gateway to close,
// so that a connection counts as done only once the gateway has judged (and logged) it.
class Flood {
  public:
    Flood(uint16_t port, std::size_t count, std::size_t concurrency, double seconds)
        : target_(asio::ip::make_address_v4("127.0.0.1"), port),
          count_(count),
          interval_(std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(seconds / double(std::max<std::size_t>(1, count))))),
          started_(Clock::now()) {
        workers_ = std::max<std::size_t>(1, std::min(concurrency, count));
        for (std::size_t i = 0; i < workers_; ++i) asio::co_spawn(io_, worker(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~Flood() {
        io_.stop();
        if (thread_.joinable()) thread_.join();
    }
    Flood(const Flood&) = delete;
    Flood& operator=(const Flood&) = delete;

    // Waits until every connection has ended, or `limit` has passed.
    FloodResult finish(std::chrono::duration<double> limit) {
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, limit, [&] { return workers_ == 0; });
        FloodResult r = result_;
        if (workers_ != 0) {
            r.unfinished = count_ - r.done - r.failed;
            r.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
        }
        return r;
    }

  private:
    awaitable<void> worker() {
        asio::steady_timer timer(io_);
        for (;;) {
            const std::size_t i = next_++;  // this thread only
            if (i >= count_) break;
            const auto due = started_ + interval_ * int64_t(i);
            if (Clock::now() < due) {
                timer.expires_at(due);
                error_code ignored;
                co_await timer.async_wait(asio::redirect_error(use_awaitable, ignored));
            }
            const std::string error = co_await one(flood_source(i));
            std::lock_guard lock(mutex_);
            if (error.empty()) {
                ++result_.done;
            } else {
                ++result_.failed;
                if (result_.first_error.empty()) result_.first_error = error;
            }
        }
        std::lock_guard lock(mutex_);
        if (--workers_ == 0) {
            result_.seconds = std::chrono::duration<double>(Clock::now() - started_).count();
            changed_.notify_all();
        }
    }

    // One garbage connection; returns what went wrong, or "".
    awaitable<std::string> one(asio::ip::address_v4 source) {
        tcp::socket socket(io_);
        error_code ec;
        socket.open(tcp::v4(), ec);
        if (ec) co_return "socket: " + ec.message();
        // As the peers do: the port is picked at connect() from the whole 4-tuple.
        const int on = 1;
        setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
        socket.bind(tcp::endpoint(source, 0), ec);
        if (ec) co_return "bind " + source.to_string() + ": " + ec.message();
        co_await socket.async_connect(target_, asio::redirect_error(use_awaitable, ec));
        if (ec) co_return "connect: " + ec.message();
        co_await asio::async_write(socket, asio::buffer(kGarbage.data(), kGarbage.size()),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) co_return "write: " + ec.message();
        std::array<char, 256> sink;
        for (;;) {
            co_await socket.async_read_some(asio::buffer(sink),
                                            asio::redirect_error(use_awaitable, ec));
            if (ec) break;
        }
        // The gateway closes at once; with bytes of ours still unread, that is a reset.
        if (ec != asio::error::eof && ec != asio::error::connection_reset)
            co_return "waiting for the gateway to close: " + ec.message();
        co_return "";
    }

    asio::io_context io_{1};
    tcp::endpoint target_;
    std::size_t count_;
    Clock::duration interval_;
    Clock::time_point started_;
    std::size_t next_ = 0;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::size_t workers_ = 0;
    FloodResult result_;
};

// The flood's events in the handshake log (JSON Lines), told apart by the client address of
// connection_accepted and the connection id of the handshake_failed that follows it.
struct LogCount {
    std::size_t lines = 0;     // complete lines, all events
    std::size_t accepted = 0;  // connection_accepted from a flood address
    std::size_t failed = 0;    // handshake_failed of those connections
    std::size_t refused = 0;   // handshake_failed at admission for a flood address (no accept)
    std::size_t unparsed = 0;
    std::size_t events() const { return accepted + failed + refused; }
};

std::string text(const nlohmann::json& event, const char* key) {
    const auto it = event.find(key);
    return it != event.end() && it->is_string() ? it->get<std::string>() : std::string();
}

LogCount count_flood_events(const std::vector<std::filesystem::path>& files) {
    LogCount c;
    std::unordered_set<std::string> flood_conns;
    // Oldest first: rotation renames handshake.jsonl to handshake.1.jsonl, .1 to .2 and so on.
    for (auto it = files.rbegin(); it != files.rend(); ++it) {
        std::ifstream in(*it, std::ios::binary);
        if (!in) continue;
        std::stringstream buffer;
        buffer << in.rdbuf();
        const std::string all = buffer.str();
        std::size_t from = 0;
        // Only complete lines: the gateway may be writing the last one right now.
        for (std::size_t nl; (nl = all.find('\n', from)) != std::string::npos; from = nl + 1) {
            ++c.lines;
            const auto event = nlohmann::json::parse(all.begin() + long(from),
                                                     all.begin() + long(nl), nullptr, false);
            if (event.is_discarded() || !event.is_object()) {
                ++c.unparsed;
                continue;
            }
            const std::string name = text(event, "event");
            const std::string conn = text(event, "conn");
            const std::string client = text(event, "client");
            if (name == "connection_accepted" && client.starts_with(kFloodPrefix)) {
                ++c.accepted;
                flood_conns.insert(conn);
            } else if (name == "handshake_failed") {
                if (flood_conns.count(conn)) {
                    ++c.failed;
                } else if (client.starts_with(kFloodPrefix)) {
                    ++c.refused;
                }
            }
        }
    }
    return c;
}

// The handshake log and the rotated files the gateway would have made of it.
std::vector<std::filesystem::path> log_files(const std::filesystem::path& log) {
    std::vector<std::filesystem::path> files{log};
    for (int i = 1; i <= 5; ++i) {  // [logging] rotate_files' default
        auto rotated = log;
        rotated.replace_extension(std::to_string(i) + log.extension().string());
        files.push_back(rotated);
    }
    return files;
}

// The events the gateway says it dropped (its queue overflowed), from its last stderr lines:
// "N handshake log event(s) were dropped". (No std::regex: GCC 12 with ASan warns in it.)
std::size_t dropped_events(const std::filesystem::path& stderr_path) {
    constexpr std::string_view kDropped = " handshake log event(s) were dropped";
    std::ifstream in(stderr_path);
    std::string line;
    std::size_t n = 0;
    while (std::getline(in, line)) {
        const auto at = line.find(kDropped);
        if (at == std::string::npos) continue;
        auto from = at;
        while (from > 0 && line[from - 1] >= '0' && line[from - 1] <= '9') --from;
        if (from < at) n = std::stoull(line.substr(from, at - from));
    }
    return n;
}

struct Window {
    uint64_t down = 0, up = 0;
    double cpu = 0, wall = 0;
    double bytes() const { return double(down + up); }
    double per_wall() const { return bytes() / wall; }
    double per_cpu() const { return bytes() / cpu; }
    Json json() const {
        return {{"bytes_down", down},
                {"bytes_up", up},
                {"seconds", wall},
                {"gateway_cpu_seconds", cpu},
                {"gateway_cores_used", cpu / wall},
                {"MB_per_s", per_wall() / 1e6},
                {"MB_per_gateway_cpu_s", per_cpu() / 1e6}};
    }
};

// Measures the relay for `seconds`; `start` runs right after the window opens.
template <class Start>
Window relay_window(Fleet& fleet, GatewayProcess& gateway, double seconds, Start start) {
    const Tally t0 = fleet.tally();
    const double cpu0 = cpu_seconds(gateway.pid());
    const auto wall0 = Clock::now();
    start();
    measure_for(seconds);
    const Tally t1 = fleet.tally();
    const double cpu1 = cpu_seconds(gateway.pid());
    const auto wall1 = Clock::now();
    gateway.check_alive();
    if (t1.failed) throw std::runtime_error("logging: relay: " + first_errors(fleet));
    Window w;
    w.down = t1.bytes_down - t0.bytes_down;
    w.up = t1.bytes_up - t0.bytes_up;
    w.cpu = cpu1 - cpu0;
    w.wall = std::chrono::duration<double>(wall1 - wall0).count();
    if (w.cpu <= 0 || w.down == 0)
        throw std::runtime_error("logging: no bytes or no gateway CPU time measured");
    return w;
}

std::string with_commas(std::size_t n) {
    const std::string digits = std::to_string(n);
    std::string s;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i && (digits.size() - i) % 3 == 0) s += ',';
        s += digits[i];
    }
    return s;
}

}  // namespace

void run_logging(const Bench& bench) {
    const auto& s = bench.settings.logging;
    const auto& relay = bench.settings.relay;
    const std::size_t expected = 2 * s.flood_connections;

    Fleet fleet(bench.settings.host);
    auto launch = bench.gateway("logging", fleet.host_port());
    launch.max_handshakes = s.max_handshakes;
    launch.connections_per_second_per_source = s.connections_per_second_per_source;
    const auto files = log_files(launch.log_dir / (launch.name + ".handshake.jsonl"));
    for (const auto& f : files) {  // a reused --work-dir's rotated files would be counted
        std::error_code ignored;
        std::filesystem::remove(f, ignored);
    }
    GatewayProcess gateway(launch);
    HostProfile host;
    host.send = true;
    host.output_pdu = relay.output_pdu;
    host.client_joins = true;  // relay clients
    fleet.set_host_profile(host);
    const auto opened = fleet.open(gateway.port(), 1, 1, {ClientMode::relay, relay.input_events});
    require_established(opened, 1, fleet, "logging");
    measure_for(s.warmup_seconds);

    const Window base = relay_window(fleet, gateway, s.seconds, [] {});
    const LogCount before = count_flood_events(files);
    std::unique_ptr<Flood> flood;
    const Window loaded = relay_window(fleet, gateway, s.seconds, [&] {
        flood = std::make_unique<Flood>(gateway.port(), s.flood_connections, s.flood_concurrency,
                                        s.seconds);
    });
    const LogCount at_window_end = count_flood_events(files);
    const FloodResult flooded = flood->finish(std::chrono::seconds(60));
    flood.reset();

    // The log is written asynchronously: wait until the flood's events are all there, or no
    // more arrive for a second.
    LogCount written = count_flood_events(files);
    for (auto last_change = Clock::now(), give_up = Clock::now() + std::chrono::seconds(20);
         written.events() < expected && Clock::now() < give_up &&
         Clock::now() - last_change < std::chrono::seconds(1);) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        const LogCount now = count_flood_events(files);
        if (now.events() != written.events()) last_change = Clock::now();
        written = now;
    }
    gateway.check_alive();
    const double load = load_average();
    fleet.close_all();
    gateway.stop();
    const std::size_t dropped = dropped_events(gateway.stderr_path());

    if (flooded.done == 0 || flooded.failed || flooded.unfinished) {
        throw std::runtime_error(
            "logging: flood: " + std::to_string(flooded.done) + " done, " +
            std::to_string(flooded.failed) + " failed, " + std::to_string(flooded.unfinished) +
            " unfinished (" +
            (flooded.first_error.empty() ? "no error recorded" : flooded.first_error) + ")");
    }
    if (before.events() != 0)
        throw std::runtime_error("logging: flood events in the log before the flood");

    const bool confirmed = written.accepted + written.failed >= expected && written.refused == 0;
    const std::string events = with_commas(written.accepted + written.failed);
    const std::string shortfall =
        confirmed ? "" : " (" + events + " of " + with_commas(expected) + " flood events logged)";
    Json details = {
        {"load_average_1m", load},
        {"baseline", base.json()},
        {"loaded", loaded.json()},
        {"order", "baseline first, then loaded, same session and gateway process"},
        {"flood",
         {{"connections", s.flood_connections},
          {"done", flooded.done},
          {"paced_over_seconds", s.seconds},
          {"seconds", flooded.seconds},
          {"overran_window_seconds", std::max(0.0, flooded.seconds - loaded.wall)},
          {"max_open", s.flood_concurrency},
          {"sources", std::min<std::size_t>(s.flood_connections, 250 * 250)},
          {"source_prefix", std::string(kFloodPrefix)},
          {"payload", "HTTP GET (handshake_failed: client_spoke_http)"}}},
        {"handshake_log",
         {{"file", files.front().string()},
          {"flood_events_expected", expected},
          {"flood_events_written", written.accepted + written.failed},
          {"connection_accepted", written.accepted},
          {"handshake_failed", written.failed},
          {"refused_by_admission", written.refused},
          {"flood_events_written_by_window_end", at_window_end.events()},
          {"lines_total", written.lines},
          {"lines_unparsed", written.unparsed},
          {"dropped_reported_by_gateway", dropped},
          {"confirmed", confirmed}}},
        {"gateway_limits",
         {{"max_handshakes", s.max_handshakes},
          {"connections_per_second_per_source", s.connections_per_second_per_source}}},
        {"relay",
         {{"output_pdu_bytes", relay.output_pdu}, {"input_events_per_pdu", relay.input_events}}},
        {"upper_bound_note",
         "the flood also costs the gateway accept/read/close work, so the loss is an upper bound "
         "on the cost of writing the events"}};

    const std::string during = "during " + with_commas(expected) + " handshake-log events";
    const std::string caveat = " (upper bound: flood also costs accept/close)";

    Row wall;
    wall.id = "logging.wall";
    wall.figure = "logging: 1 relay session, bytes per wall-s " + during + caveat + shortfall;
    wall.value = loaded.per_wall() / 1e6;
    wall.unit = "MB/s";
    wall.bound = base.per_wall() / 1e6;
    wall.bound_what = "same session alone, same gateway";
    wall.ratio = loaded.per_wall() / base.per_wall();
    wall.details = details;
    bench.report.add(wall);

    Row cpu = wall;
    cpu.id = "logging.per_cpu";
    cpu.figure = "logging: 1 relay session, bytes per gateway CPU-s " + during + caveat + shortfall;
    cpu.value = loaded.per_cpu() / 1e6;
    cpu.unit = "MB/CPU-s";
    cpu.bound = base.per_cpu() / 1e6;
    cpu.ratio = loaded.per_cpu() / base.per_cpu();
    bench.report.add(cpu);
}

}  // namespace rdpbridge::bench

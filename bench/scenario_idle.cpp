// Scenario 2, idle sessions: as many established, silent sessions as asked (10,000 by default)
// through one gateway; its RSS must stay under 1 GiB and its CPU near zero while nothing moves.
#include <algorithm>

#include "bench/proc_stats.hpp"
#include "bench/scenario_util.hpp"
#include "bench/scenarios.hpp"

namespace rdpbridge::bench {

void run_idle(const Bench& bench) {
    const auto& s = bench.settings.idle;
    // The open-file limit caps the sessions one process can hold (two sockets each); beyond it
    // the figure is extrapolated from the per-session cost measured below the cap.
    const std::size_t sessions = std::min(s.sessions, sessions_within(bench.fds));
    if (sessions == 0) throw std::runtime_error("idle: the open-file limit leaves no session");

    Fleet fleet(bench.settings.host);
    // The gateway admits 2,000 sessions by default; an operator expecting more raises the limit.
    auto launch = bench.gateway("idle", fleet.host_port());
    launch.max_sessions = sessions + 100;
    GatewayProcess gateway(launch);
    fleet.set_host_profile({false, 0, {}});
    const uint64_t rss_empty = rss_bytes(gateway.pid());
    const auto opened = fleet.open(gateway.port(), sessions, s.concurrency, {ClientMode::hold, 0});
    require_established(opened, sessions, fleet, "idle");
    measure_for(s.settle_seconds);

    const double cpu0 = cpu_seconds(gateway.pid());
    measure_for(s.seconds);
    const double cpu1 = cpu_seconds(gateway.pid());
    const uint64_t rss = rss_bytes(gateway.pid());
    gateway.check_alive();
    const Tally tally = fleet.tally();
    if (tally.failed) throw std::runtime_error("idle: " + first_errors(fleet));
    fleet.close_all();
    gateway.stop();

    const double per_session = double(rss - std::min(rss, rss_empty)) / double(sessions);
    const double at_target = double(rss_empty) + per_session * double(s.sessions);
    const double gib = double(uint64_t(1) << 30);
    Json details = {{"sessions_requested", s.sessions},
                    {"load_average_1m", load_average()},
                    {"sessions_held", sessions},
                    {"fd_limit", bench.fds.soft},
                    {"rss_empty_bytes", rss_empty},
                    {"rss_bytes", rss},
                    {"rss_per_session_bytes", per_session},
                    {"open_seconds", opened.seconds},
                    {"open_rate_per_s", double(sessions) / opened.seconds},
                    {"idle_seconds", s.seconds},
                    {"gateway_cpu_seconds", cpu1 - cpu0}};

    Row rss_row;
    rss_row.id = "idle.rss";
    rss_row.figure =
        "idle: gateway RSS at " + std::to_string(s.sessions) + " sessions" +
        (sessions < s.sessions ? " (extrapolated from " + std::to_string(sessions) + ")" : "");
    rss_row.value = at_target / gib;
    rss_row.unit = "GiB";
    rss_row.bound = double(s.rss_limit) / gib;
    rss_row.bound_what = "issue limit";
    rss_row.ratio = at_target / double(s.rss_limit);
    rss_row.target = "≤ 100 %";
    rss_row.met = rss_row.ratio <= 1.0;
    rss_row.details = details;
    bench.report.add(std::move(rss_row));

    Row cpu_row;
    cpu_row.id = "idle.cpu";
    cpu_row.figure = "idle: gateway CPU with " + std::to_string(sessions) + " silent sessions";
    cpu_row.value = (cpu1 - cpu0) / s.seconds;
    cpu_row.unit = "cores";
    cpu_row.bound = s.cpu_limit;
    cpu_row.bound_what = "\"about zero\"";
    cpu_row.ratio = cpu_row.value / s.cpu_limit;
    cpu_row.target = "≤ 100 %";
    cpu_row.met = cpu_row.ratio <= 1.0;
    cpu_row.details = details;
    bench.report.add(std::move(cpu_row));
}

}  // namespace rdpbridge::bench

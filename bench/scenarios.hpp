// The four measurements of the issue, and what handshake logging costs a relaying session. Each
// starts its own rdpbridge (so that CPU and RSS belong to that scenario alone), measures its
// bound in the same run, and adds rows to the report; each throws on an instrument failure
// (sessions that did not establish, a gateway that died).
#pragma once

#include "bench/fd_limit.hpp"
#include "bench/gateway_process.hpp"
#include "bench/report.hpp"
#include "bench/settings.hpp"

namespace rdpbridge::bench {

struct Bench {
    const Settings& settings;
    FdLimit fds;
    Report& report;

    std::filesystem::path state_dir() const { return settings.work_dir / "state"; }
    GatewayLaunch gateway(const std::string& name, uint16_t target_port) const {
        GatewayLaunch launch;
        launch.binary = settings.rdpbridge;
        launch.state_dir = state_dir();
        launch.log_dir = settings.work_dir / "logs";
        launch.name = name;
        launch.target_port = target_port;
        return launch;
    }
};

void run_relay(const Bench& bench);
void run_idle(const Bench& bench);
void run_handshake(const Bench& bench);
void run_latency(const Bench& bench);
void run_logging(const Bench& bench);
void run_workers(const Bench& bench);

}  // namespace rdpbridge::bench

// The four measurements of the issue, what handshake logging costs a relaying session, and the
// status page's render time and memory. Each
// starts its own rdpbridge (so that CPU and RSS belong to that scenario alone), measures its
// bound in the same run, and adds rows to the report; each throws on an instrument failure
// (sessions that did not establish, a gateway that died). The handshake and relay scenarios also
// run the same traffic through HAProxy (unless --no-haproxy) and report the two side by side.
#pragma once

#include "bench/fd_limit.hpp"
#include "bench/gateway_process.hpp"
#include "bench/haproxy_process.hpp"
#include "bench/proc_stats.hpp"
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
    // HAProxy in front of the same host with the certificate rdpbridge generated into the state
    // dir (so rdpbridge must have run before), with as many threads as rdpbridge's default
    // worker loops. `ssl_reuse` false: `no-ssl-reuse`.
    HaproxyLaunch haproxy(const std::string& name, uint16_t target_port, bool ssl_reuse,
                          bool log) const {
        HaproxyLaunch launch;
        launch.binary = settings.haproxy.binary;
        launch.log_dir = settings.work_dir / "logs";
        launch.name = name;
        launch.target_port = target_port;
        launch.front_certificate = state_dir() / "front-cert.pem";
        launch.front_key = state_dir() / "front-key.pem";
        launch.pem = settings.work_dir / "haproxy-front.pem";
        launch.backend_ciphers = settings.host.ciphers;
        launch.ssl_reuse = ssl_reuse;
        launch.log = log;
        launch.threads = usable_cpus();
        return launch;
    }
};

void run_relay(const Bench& bench);
void run_idle(const Bench& bench);
void run_handshake(const Bench& bench);
void run_latency(const Bench& bench);
void run_logging(const Bench& bench);
void run_workers(const Bench& bench);
void run_status(const Bench& bench);

}  // namespace rdpbridge::bench

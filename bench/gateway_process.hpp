// rdpbridge as a separate process, started exactly as a user starts it:
//   rdpbridge run --listen 127.0.0.1:0 --target 127.0.0.1:Q --state-dir DIR --handshake-log FILE
// or, when a scenario needs more than the gateway admits by default, as a user who raised
// [limits] max_sessions (or max_handshakes, connections_per_second_per_source), brought an own
// front certificate, turned backend TLS resumption off or set a channel policy would: from a
// config file saying the same plus those settings.
// Readiness is its stderr line "listening on 127.0.0.1:P" (which also tells the port the OS
// picked), and with `admin` also "admin endpoint on http://127.0.0.1:A"; stderr is drained into a
// file for the whole run so that the gateway never blocks on a full pipe.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/child_process.hpp"

namespace rdpbridge::bench {

struct GatewayLaunch {
    std::filesystem::path binary;
    std::filesystem::path state_dir;
    std::filesystem::path log_dir;  // receives NAME.stderr and NAME.handshake.jsonl
    std::string name;
    uint16_t target_port = 0;
    // The quick start's --backend-security (auto, tls, rdp); empty leaves the default, auto.
    std::string backend_security;
    // [listener.tls] certificate and private_key, as an operator sets them (both or neither);
    // empty: the gateway generates its own RSA-2048 certificate into the state dir.
    std::filesystem::path front_certificate, front_key;
    // [limits] to raise; 0 keeps the default. Any nonzero one makes the launch a config file
    // equal to the quick start plus these limits, instead of the quick-start flags.
    std::size_t max_sessions = 0;
    std::size_t max_handshakes = 0;
    std::size_t connections_per_second_per_source = 0;
    // --workers N (event loops); 0 leaves the gateway's default, one per CPU.
    int workers = 0;
    // [backend.tls] resume (offer the host its earlier TLS sessions); unset keeps the default,
    // true. Set makes the launch a config file, as any of the limits above does.
    std::optional<bool> backend_resume;
    // [backend.channels] deny and [backend.channels.devices] deny (a channel policy): static
    // channels and rdpdr device types kept from the host. Either nonempty makes the launch a
    // config file.
    std::vector<std::string> deny_channels, deny_devices;
    // The admin endpoint (status page, /metrics) on 127.0.0.1, on a free port the bench picks.
    bool admin = false;
    // A handshake log the gateway finds at start (copied over NAME.handshake.jsonl), as after a
    // restart: the status page reads its last 7 days before the first connection.
    std::filesystem::path seed_log;

    bool uses_config() const {
        return max_sessions || max_handshakes || connections_per_second_per_source ||
               !front_certificate.empty() || backend_resume.has_value() || !deny_channels.empty() ||
               !deny_devices.empty();
    }
};

class GatewayProcess {
  public:
    explicit GatewayProcess(const GatewayLaunch& launch);
    ~GatewayProcess();
    GatewayProcess(const GatewayProcess&) = delete;
    GatewayProcess& operator=(const GatewayProcess&) = delete;

    pid_t pid() const { return child_.pid(); }
    uint16_t port() const { return port_; }
    uint16_t admin_port() const { return admin_port_; }  // 0 unless launched with `admin`
    // Everything the gateway wrote to stderr up to readiness (its start-up report).
    const std::string& startup_output() const { return startup_; }
    const std::filesystem::path& stderr_path() const { return stderr_path_; }
    const std::filesystem::path& handshake_log() const { return handshake_log_; }
    // The config file it runs from (GatewayLaunch::uses_config), else empty.
    const std::filesystem::path& config_path() const { return config_path_; }
    // Throws if the gateway has exited: a measurement of a dead process means nothing.
    void check_alive() const;
    // SIGTERM, as systemd stops it; SIGKILL if it has not exited within the limit.
    void stop();

  private:
    void drain(int fd);

    ChildProcess child_;
    uint16_t port_ = 0;
    uint16_t admin_port_ = 0;
    std::string startup_;  // written by the drainer until ready_, read only after
    std::filesystem::path stderr_path_;
    std::filesystem::path handshake_log_;
    std::filesystem::path config_path_;
    bool wants_admin_ = false;
    std::thread drainer_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool ready_ = false;
    bool eof_ = false;
};

}  // namespace rdpbridge::bench

// HAProxy (Debian's /usr/sbin/haproxy, 2.6) as the peer proxy the bench compares rdpbridge with,
// started like GatewayProcess starts rdpbridge: TLS front with rdpbridge's own certificate, mode
// tcp, TLS 1.0 to the same synthetic host. It cannot speak X.224, so the peers talk bare TLS to
// it (fleet.hpp). Its config is written to LOG_DIR/NAME.haproxy.cfg; it runs in the foreground
// (-db), its stderr goes to NAME.haproxy.stderr and its connection log (option tcplog, one line
// per session) to NAME.haproxy.log.
//
// The bench makes the listening socket itself (127.0.0.1:0, before HAProxy starts) and HAProxy
// inherits it as `bind fd@3`: no port to race for, no readiness to guess (connections wait in
// the socket's backlog until HAProxy accepts them), and a HAProxy that dies closes the only
// copy, so that clients see refusals instead of hanging.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "bench/child_process.hpp"

namespace rdpbridge::bench {

struct HaproxyLaunch {
    std::filesystem::path binary;  // /usr/sbin/haproxy unless --haproxy
    std::filesystem::path log_dir;
    std::string name;
    uint16_t target_port = 0;
    // The front's certificate and key (PEM): the ones rdpbridge uses in the same scenario.
    // HAProxy wants both in one file: they are concatenated into `pem` (mode 0600).
    std::filesystem::path front_certificate, front_key, pem;
    std::string backend_ciphers;  // the host's TLS 1.0 cipher list
    bool ssl_reuse = true;        // false: `no-ssl-reuse` on the server line
    bool log = true;              // option tcplog, one line per session, as rdpbridge logs each
    int threads = 1;              // nbthread: rdpbridge's worker loops in the same scenario
};

// HAProxy's configuration for `launch`, its listener being the inherited descriptor `fd`.
std::string haproxy_config(const HaproxyLaunch& launch, int fd);

// `haproxy -v`'s first line ("HAProxy version 2.6.12-1+deb12u4 ..."). Throws, with the
// apt-get hint, if the binary is missing.
std::string haproxy_version(const std::filesystem::path& binary);

class HaproxyProcess {
  public:
    explicit HaproxyProcess(const HaproxyLaunch& launch);
    ~HaproxyProcess();
    HaproxyProcess(const HaproxyProcess&) = delete;
    HaproxyProcess& operator=(const HaproxyProcess&) = delete;

    pid_t pid() const { return child_.pid(); }
    uint16_t port() const { return port_; }
    const std::filesystem::path& config_path() const { return config_path_; }
    const std::filesystem::path& log_path() const { return log_path_; }
    // Throws if HAProxy has exited: a measurement of a dead process means nothing.
    void check_alive() const;
    // SIGUSR1 (soft stop: it exits once its sessions are gone, and the bench closed them);
    // SIGKILL if it has not exited within the limit.
    void stop();
    // The connection log's session lines (one per session HAProxy has ended: all of them after
    // stop()) and how many ended in each termination state ("--" normal, "CD" the client closed
    // while data flowed, "SC" the server refused, ...); its other lines are HAProxy's notices.
    struct LogCount {
        std::size_t sessions = 0;
        std::map<std::string, std::size_t> terminations;
    };
    LogCount count_log() const;

  private:
    ChildProcess child_;
    uint16_t port_ = 0;
    std::filesystem::path config_path_;
    std::filesystem::path stderr_path_;
    std::filesystem::path log_path_;
};

}  // namespace rdpbridge::bench

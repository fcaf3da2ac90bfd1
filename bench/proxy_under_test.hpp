// The proxy a measurement runs through: rdpbridge, or HAProxy beside it for the comparison rows.
// Either is a separate process whose CPU time the bench reads from /proc; the peers speak X.224
// to rdpbridge and bare TLS to HAProxy, which cannot speak it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "bench/gateway_process.hpp"
#include "bench/haproxy_process.hpp"
#include "bench/report.hpp"

namespace rdpbridge::bench {

class ProxyUnderTest {
  public:
    explicit ProxyUnderTest(const GatewayLaunch& launch);
    explicit ProxyUnderTest(const HaproxyLaunch& launch);

    pid_t pid() const;
    uint16_t port() const;
    bool x224() const { return gateway_ != nullptr; }  // false: the peers speak bare TLS
    const char* what() const { return gateway_ ? "rdpbridge" : "haproxy"; }
    void check_alive() const;
    void stop();
    // After stop(): what the proxy's own log says about the sessions, to show that they went
    // through it. rdpbridge: its handshake log's session_established events and backend_tls
    // stages (and how many of those resumed), and with a channel policy the sessions that had
    // one, removed channels and the client PDUs it dropped; HAProxy: its connection log's session
    // lines.
    Json log_summary() const;
    // HAProxy's config file, or rdpbridge's when it runs from one (else empty: the quick-start
    // flags, as its GatewayLaunch says).
    std::string config_file() const {
        return haproxy_ ? haproxy_->config_path().string() : gateway_->config_path().string();
    }

  private:
    std::unique_ptr<GatewayProcess> gateway_;
    std::unique_ptr<HaproxyProcess> haproxy_;
};

}  // namespace rdpbridge::bench

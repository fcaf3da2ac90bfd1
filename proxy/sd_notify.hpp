// systemd's notify protocol (sd_notify(3)) without libsystemd: each state change is one datagram
// to the socket $NOTIFY_SOCKET names (a path, or "@name" in the abstract namespace). Outside
// systemd the variable is unset and every call does nothing.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace rdpbridge::proxy {

class SystemdNotifier {
  public:
    // Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (the watchdog is ours only when
    // WATCHDOG_PID is unset or names this process).
    static SystemdNotifier from_environment();
    SystemdNotifier() = default;
    SystemdNotifier(SystemdNotifier&& other) noexcept;
    SystemdNotifier& operator=(SystemdNotifier&&) = delete;
    SystemdNotifier(const SystemdNotifier&) = delete;
    ~SystemdNotifier();

    bool enabled() const { return fd_ >= 0; }
    // "READY=1", "RELOADING=1\nMONOTONIC_USEC=…", "STATUS=…", "WATCHDOG=1", "STOPPING=1".
    // Best effort: a manager that went away must not stop the gateway.
    void notify(std::string_view state) const;
    // How often to send WATCHDOG=1: half of WatchdogSec=, as sd_watchdog_enabled(3) advises.
    std::optional<std::chrono::microseconds> watchdog_interval() const { return watchdog_; }

    // "RELOADING=1" with the CLOCK_MONOTONIC time systemd 253+ asks for (older ones ignore it).
    static std::string reloading_state();

  private:
    int fd_ = -1;
    std::string address_;  // sun_path as given, '@' already turned into the leading NUL
    std::optional<std::chrono::microseconds> watchdog_;
};

}  // namespace rdpbridge::proxy

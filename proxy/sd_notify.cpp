#include "proxy/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <utility>

namespace rdpbridge::proxy {

SystemdNotifier SystemdNotifier::from_environment() {
    SystemdNotifier n;
    const char* socket_name = std::getenv("NOTIFY_SOCKET");
    if (socket_name == nullptr || *socket_name == '\0') return n;
    std::string address(socket_name);
    // Only absolute paths and abstract names are valid; anything else is not systemd's.
    if (address.size() >= sizeof(sockaddr_un::sun_path) || (address[0] != '/' && address[0] != '@'))
        return n;
    if (address[0] == '@') address[0] = '\0';
    n.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (n.fd_ < 0) return n;
    n.address_ = std::move(address);
    const char* usec = std::getenv("WATCHDOG_USEC");
    const char* pid = std::getenv("WATCHDOG_PID");
    const bool ours = pid == nullptr || std::strtoll(pid, nullptr, 10) == ::getpid();
    if (usec != nullptr && ours) {
        const long long us = std::strtoll(usec, nullptr, 10);
        if (us > 0) n.watchdog_ = std::chrono::microseconds(us / 2);
    }
    return n;
}

SystemdNotifier::SystemdNotifier(SystemdNotifier&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      address_(std::move(other.address_)),
      watchdog_(other.watchdog_) {}

SystemdNotifier::~SystemdNotifier() {
    if (fd_ >= 0) ::close(fd_);
}

void SystemdNotifier::notify(std::string_view state) const {
    if (fd_ < 0) return;
    sockaddr_un to{};
    to.sun_family = AF_UNIX;
    std::memcpy(to.sun_path, address_.data(), address_.size());
    const auto length = socklen_t(offsetof(sockaddr_un, sun_path) + address_.size());
    (void)::sendto(fd_, state.data(), state.size(), MSG_NOSIGNAL,
                   reinterpret_cast<const sockaddr*>(&to), length);
}

std::string SystemdNotifier::reloading_state() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const long long us = static_cast<long long>(now.tv_sec) * 1000000 + now.tv_nsec / 1000;
    return "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(us);
}

}  // namespace rdpbridge::proxy

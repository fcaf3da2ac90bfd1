#include "bench/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace rdpbridge::bench {

FdLimit raise_fd_limit() {
    rlimit r{};
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        throw std::runtime_error(std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
    if (r.rlim_cur != r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0)
            throw std::runtime_error(std::string("setrlimit(RLIMIT_NOFILE): ") +
                                     std::strerror(errno));
    }
    return {uint64_t(r.rlim_cur), uint64_t(r.rlim_max)};
}

std::size_t sessions_within(const FdLimit& limit) {
    // stdio, listeners, the handshake log, epoll, eventfd/pipes, timerfd, resolver, /dev/urandom.
    constexpr uint64_t kReserve = 64;
    return limit.soft > kReserve ? std::size_t((limit.soft - kReserve) / 2) : 0;
}

}  // namespace rdpbridge::bench

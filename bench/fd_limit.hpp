// Open-file limits. 10,000 sessions hold two sockets each in the gateway and two in the bench
// (the synthetic client's and the synthetic host's ends), so the soft limit is raised to the
// hard one before anything starts; the gateway inherits it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rdpbridge::bench {

struct FdLimit {
    uint64_t soft = 0;
    uint64_t hard = 0;
};

// Raises RLIMIT_NOFILE's soft limit to its hard limit; returns the limits now in force.
FdLimit raise_fd_limit();

// How many sessions fit when every session needs two descriptors in each process, keeping a
// margin for listeners, logs, epoll and the like.
std::size_t sessions_within(const FdLimit& limit);

}  // namespace rdpbridge::bench

// A process the bench started (rdpbridge, HAProxy), watched through a pidfd: whether it still
// runs is asked without racing a recycled pid, and stopping it is a signal, a bounded wait and
// SIGKILL if that runs out.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rdpbridge::bench {

class ChildProcess {
  public:
    ChildProcess() = default;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { stop(SIGKILL, 0); }

    void adopt(pid_t pid) {
        pid_ = pid;
        pidfd_ = int(syscall(SYS_pidfd_open, pid, 0));
    }
    pid_t pid() const { return pid_; }
    bool running() const {
        pollfd p{pidfd_, POLLIN, 0};  // a pidfd becomes readable when the process exits
        return pid_ > 0 && pidfd_ >= 0 && poll(&p, 1, 0) == 0;
    }
    // Sends `signal`, waits up to `limit_ms` for the exit, then SIGKILL; reaps the process.
    void stop(int signal, int limit_ms) {
        if (pid_ > 0) {
            kill(pid_, signal);
            pollfd p{pidfd_, POLLIN, 0};
            if (pidfd_ < 0 || poll(&p, 1, limit_ms) == 0) kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
        if (pidfd_ >= 0) {
            close(pidfd_);
            pidfd_ = -1;
        }
    }

  private:
    pid_t pid_ = -1;
    int pidfd_ = -1;
};

}  // namespace rdpbridge::bench

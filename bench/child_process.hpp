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

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace rdpbridge::bench {

// The last 600 bytes of a process's stderr file: enough for the reason it gave.
inline std::string stderr_tail(const std::filesystem::path& path) {
    std::ifstream in(path);
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return all.size() > 600 ? all.substr(all.size() - 600) : all;
}

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
    // A measurement of a dead process means nothing: throws, naming it and quoting its stderr.
    void require_running(const std::string& name, const std::filesystem::path& stderr_path) const {
        if (running()) return;
        throw std::runtime_error(
            name + " exited during the measurement; stderr tail: " + stderr_tail(stderr_path));
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

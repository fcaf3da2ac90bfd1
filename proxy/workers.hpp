// The event loops that run sessions: one io_context per worker, each on its own thread, sharing
// nothing but what GatewayState guards. The gateway's own loop (accept, signals, reload, admin)
// hands each accepted connection to the worker with the fewest sessions: RDP sessions last hours,
// so balancing by count keeps the loops even where round-robin would let them drift.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

#include "proxy/asio.hpp"

namespace rdpbridge::proxy {

// The number of CPUs this process may run on (its affinity mask, which systemd's CPUAffinity= or
// a container narrows), at least 1.
int available_cpus();

class Workers {
  public:
    // Starts `count` loops (at least 1).
    explicit Workers(int count);
    ~Workers();  // stops and joins the loops, if stop() has not
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    // A session's place on one loop: the loop's executor, counted as one of its sessions until the
    // assignment is destroyed (on whatever thread).
    class Assignment {
      public:
        asio::any_io_executor executor() const { return executor_; }
        std::size_t worker() const { return index_; }

      private:
        friend class Workers;
        asio::any_io_executor executor_;
        std::size_t index_ = 0;
        std::shared_ptr<void> counted_;
    };
    // The least-loaded loop (the first of equals).
    std::size_t least_loaded() const;
    asio::any_io_executor executor(std::size_t loop) const {
        return loops_[loop]->io.get_executor();
    }
    // Counts a session on that loop.
    Assignment assign(std::size_t loop);
    Assignment assign() { return assign(least_loaded()); }

    // Liveness for systemd's watchdog: true if every loop ran the probe posted by the previous
    // call (the first call always answers true). A loop stuck in one session misses it.
    bool every_loop_answered();

    std::size_t size() const { return loops_.size(); }
    // Sessions per loop now (a snapshot, for metrics).
    std::vector<std::size_t> load() const;

    // Lets the loops finish what is queued, then joins them. Call once no session is left.
    void stop();

  private:
    struct Loop {
        asio::io_context io{1};
        asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
        std::atomic<std::size_t> sessions{0};
        std::atomic<uint64_t> answered{0};
        std::thread thread;
    };
    std::vector<std::unique_ptr<Loop>> loops_;
    uint64_t probe_ = 0;
};

}  // namespace rdpbridge::proxy

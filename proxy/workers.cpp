#include "proxy/workers.hpp"

#include <sched.h>

#include <algorithm>

namespace rdpbridge::proxy {

int available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
    return std::max(1, int(std::thread::hardware_concurrency()));
}

Workers::Workers(int count) {
    const int n = std::max(1, count);
    loops_.reserve(std::size_t(n));
    for (int i = 0; i < n; ++i) {
        loops_.push_back(std::make_unique<Loop>());
        // Asio opens a loop's epoll, eventfd and timerfd on the first timer or socket: open them
        // now, so that the first session on each loop does not look like three leaked
        // descriptors, and a gateway short of descriptors fails at start rather than later.
        asio::steady_timer opens_the_reactor(loops_.back()->io);
    }
    // Each loop runs until stop(): the guard keeps an idle loop waiting for its next session.
    for (auto& loop : loops_) loop->thread = std::thread([l = loop.get()] { l->io.run(); });
}

Workers::~Workers() {
    stop();
}

std::size_t Workers::least_loaded() const {
    std::size_t best = 0;
    for (std::size_t i = 1; i < loops_.size(); ++i) {
        if (loops_[i]->sessions.load(std::memory_order_relaxed) <
            loops_[best]->sessions.load(std::memory_order_relaxed))
            best = i;
    }
    return best;
}

Workers::Assignment Workers::assign(std::size_t best) {
    Loop* loop = loops_[best].get();
    loop->sessions.fetch_add(1, std::memory_order_relaxed);
    Assignment a;
    a.executor_ = loop->io.get_executor();
    a.index_ = best;
    a.counted_ = std::shared_ptr<void>(
        nullptr, [loop](void*) { loop->sessions.fetch_sub(1, std::memory_order_relaxed); });
    return a;
}

bool Workers::every_loop_answered() {
    bool all = true;
    for (const auto& loop : loops_) all = all && loop->answered.load() == probe_;
    ++probe_;
    for (auto& loop : loops_) {
        asio::post(loop->io, [l = loop.get(), p = probe_] { l->answered.store(p); });
    }
    return all;
}

std::vector<std::size_t> Workers::load() const {
    std::vector<std::size_t> out;
    out.reserve(loops_.size());
    for (const auto& loop : loops_) out.push_back(loop->sessions.load(std::memory_order_relaxed));
    return out;
}

void Workers::stop() {
    for (auto& loop : loops_) loop->guard.reset();
    for (auto& loop : loops_) {
        if (loop->thread.joinable()) loop->thread.join();
    }
}

}  // namespace rdpbridge::proxy

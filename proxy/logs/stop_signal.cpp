#include "proxy/logs/stop_signal.hpp"

#include <csignal>
#include <ctime>

namespace rdpbridge::logs {

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_stop_signal(int) {
    g_stop = 1;
}

}  // namespace

void install_stop_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART, so that nanosleep below returns at the signal
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() {
    return g_stop != 0;
}

void sleep_unless_stopped(std::chrono::milliseconds interval) {
    if (stop_requested()) return;
    const auto s = std::chrono::duration_cast<std::chrono::seconds>(interval);
    const timespec ts{static_cast<time_t>(s.count()),
                      static_cast<long>((interval - s).count() * 1'000'000)};
    // One call, not a loop on EINTR (std::this_thread::sleep_for would resume sleeping). A
    // signal landing between the check above and this call costs at most one interval.
    ::nanosleep(&ts, nullptr);
}

}  // namespace rdpbridge::logs

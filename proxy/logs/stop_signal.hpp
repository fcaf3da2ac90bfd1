// SIGINT/SIGTERM as a request to end --follow cleanly (exit 0, output flushed) rather than
// being killed mid-line.
#pragma once

#include <chrono>

namespace rdpbridge::logs {

// Installs handlers that only record the signal; safe to call more than once.
void install_stop_handlers();
bool stop_requested();

// Sleeps for `interval`, or less when a stop signal arrives meanwhile.
void sleep_unless_stopped(std::chrono::milliseconds interval);

}  // namespace rdpbridge::logs

// The running gateway: builds TLS contexts from a validated Config, listens, spawns a session
// per connection, and stops cleanly on SIGINT/SIGTERM.
#pragma once

#include "config/config.hpp"

namespace rdpbridge::proxy {

// Runs until a stop signal. Returns the process exit code; throws std::runtime_error with an
// actionable message when start-up fails (certificate, bind).
int run_gateway(const config::Config& config);

}  // namespace rdpbridge::proxy

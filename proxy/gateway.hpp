// The running gateway: builds TLS contexts from a validated Config, listens, spawns a session
// per connection, reloads on SIGHUP, and drains then stops on SIGINT/SIGTERM.
#pragma once

#include <functional>

#include "config/config.hpp"
#include "config/load.hpp"

namespace rdpbridge::proxy {

// Reads the configuration again for a reload, with every check the start-up made (empty for a
// quick start, which has no file to read again).
using ConfigSource = std::function<config::LoadResult()>;

// Runs until a stop signal and the drain after it. Returns the process exit code; throws
// std::runtime_error with an actionable message when start-up fails (certificate, bind).
int run_gateway(const config::Config& config, ConfigSource source = {});

}  // namespace rdpbridge::proxy

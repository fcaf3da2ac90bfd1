// A Generation from a validated Config: every listener's front TLS context, every backend's TLS
// context and service password, the NLA files checked, the admin endpoint's credentials read.
// Built at start and again for each reload, before anything changes: a reload that cannot build
// one leaves the running one in place.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "proxy/gateway_state.hpp"
#include "proxy/handshake_log.hpp"

namespace rdpbridge::proxy {

// Throws std::runtime_error naming the listener or backend and the fix. `log` gets one line per
// listener with the certificate clients will be asked to trust.
std::shared_ptr<Generation> build_generation(std::shared_ptr<const config::Config> config,
                                             HandshakeLog& log);

// What a reload changes, for its config_reloaded event: {"listeners": {"added": [...],
// "removed": [...], "changed": [...]}, "backends": {...}, "routes": "2 -> 3", "limits":
// [changed keys], ...}; parts that did not change are left out.
Json reload_changes(const config::Config& before, const config::Config& after);

// Settings a reload cannot apply (they shape what outlives it: the log, the state directory,
// admission's keys, the admin endpoint's socket), each with what to do.
std::vector<std::string> restart_only_changes(const config::Config& before,
                                              const config::Config& after);

}  // namespace rdpbridge::proxy

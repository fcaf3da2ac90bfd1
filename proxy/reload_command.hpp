// `rdpbridge reload -c FILE`: checks FILE as check-config does, then asks the gateway running
// with it (its PID in <state_dir>/rdpbridge.pid) to reload, and reports what the gateway's
// handshake log says came of it.
#pragma once

#include <string>

namespace rdpbridge::proxy {

// Exit codes: 0 reloaded, 1 no running gateway (or no answer within 15 s), 3 the file (or the
// gateway's own checks) refused.
int run_reload(const std::string& config_file);

}  // namespace rdpbridge::proxy
